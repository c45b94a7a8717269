from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.action_status import ActionStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.action_metrics import ActionMetrics
    from ..models.ran_on import RanOn


T = TypeVar("T", bound="ActionProgress")


@_attrs_define
class ActionProgress:
    """Progress of one action. Unknown fields are accepted and ignored; `progress_category`
    (an older name) is accepted for `progress_step`. With `total` null, `progress` is a
    fraction in [0, 1]; with `total` set, it counts units of work up to `total`.

        Attributes:
            name (str):
            status (ActionStatus | Unset): Status of one action of a run. `completed`, `failed`, `skipped` and `cancelled`
                are terminal. When a run is cancelled, its running action becomes `cancelled` at once; the actions after it stay
                `pending` (they never ran).
            progress (float | Unset):  Default: 0.0.
            total (float | None | Unset):
            progress_step (None | str | Unset):
            message (None | str | Unset):
            metrics (ActionMetrics | Unset):
            started_at (datetime.datetime | None | Unset):
            completed_at (datetime.datetime | None | Unset):
            error (None | str | Unset):
            ran_on (None | RanOn | Unset): Where the action ran; absent or null until its executor reports it.
    """

    name: str
    status: ActionStatus | Unset = UNSET
    progress: float | Unset = 0.0
    total: float | None | Unset = UNSET
    progress_step: None | str | Unset = UNSET
    message: None | str | Unset = UNSET
    metrics: ActionMetrics | Unset = UNSET
    started_at: datetime.datetime | None | Unset = UNSET
    completed_at: datetime.datetime | None | Unset = UNSET
    error: None | str | Unset = UNSET
    ran_on: None | RanOn | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.ran_on import RanOn  # noqa: PLC0415

        name = self.name

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        progress = self.progress

        total: float | None | Unset
        if isinstance(self.total, Unset):
            total = UNSET
        else:
            total = self.total

        progress_step: None | str | Unset
        if isinstance(self.progress_step, Unset):
            progress_step = UNSET
        else:
            progress_step = self.progress_step

        message: None | str | Unset
        if isinstance(self.message, Unset):
            message = UNSET
        else:
            message = self.message

        metrics: dict[str, Any] | Unset = UNSET
        if not isinstance(self.metrics, Unset):
            metrics = self.metrics.to_dict()

        started_at: None | str | Unset
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        elif isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        completed_at: None | str | Unset
        if isinstance(self.completed_at, Unset):
            completed_at = UNSET
        elif isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        ran_on: dict[str, Any] | None | Unset
        if isinstance(self.ran_on, Unset):
            ran_on = UNSET
        elif isinstance(self.ran_on, RanOn):
            ran_on = self.ran_on.to_dict()
        else:
            ran_on = self.ran_on

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
            }
        )
        if status is not UNSET:
            field_dict["status"] = status
        if progress is not UNSET:
            field_dict["progress"] = progress
        if total is not UNSET:
            field_dict["total"] = total
        if progress_step is not UNSET:
            field_dict["progress_step"] = progress_step
        if message is not UNSET:
            field_dict["message"] = message
        if metrics is not UNSET:
            field_dict["metrics"] = metrics
        if started_at is not UNSET:
            field_dict["started_at"] = started_at
        if completed_at is not UNSET:
            field_dict["completed_at"] = completed_at
        if error is not UNSET:
            field_dict["error"] = error
        if ran_on is not UNSET:
            field_dict["ran_on"] = ran_on

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.action_metrics import ActionMetrics  # noqa: PLC0415
        from ..models.ran_on import RanOn  # noqa: PLC0415

        d = dict(src_dict)
        name = d.pop("name")

        _status = d.pop("status", UNSET)
        status: ActionStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = ActionStatus(_status)

        progress = d.pop("progress", UNSET)

        def _parse_total(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        total = _parse_total(d.pop("total", UNSET))

        def _parse_progress_step(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        progress_step = _parse_progress_step(d.pop("progress_step", UNSET))

        def _parse_message(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        message = _parse_message(d.pop("message", UNSET))

        _metrics = d.pop("metrics", UNSET)
        metrics: ActionMetrics | Unset
        if isinstance(_metrics, Unset):
            metrics = UNSET
        else:
            metrics = ActionMetrics.from_dict(_metrics)

        def _parse_started_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        started_at = _parse_started_at(d.pop("started_at", UNSET))

        def _parse_completed_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        completed_at = _parse_completed_at(d.pop("completed_at", UNSET))

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_ran_on(data: object) -> None | RanOn | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                ran_on_type_0 = RanOn.from_dict(data)

                return ran_on_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RanOn | Unset, data)

        ran_on = _parse_ran_on(d.pop("ran_on", UNSET))

        action_progress = cls(
            name=name,
            status=status,
            progress=progress,
            total=total,
            progress_step=progress_step,
            message=message,
            metrics=metrics,
            started_at=started_at,
            completed_at=completed_at,
            error=error,
            ran_on=ran_on,
        )

        action_progress.additional_properties = d
        return action_progress

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
