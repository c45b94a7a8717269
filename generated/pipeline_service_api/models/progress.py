from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.run_status import RunStatus

if TYPE_CHECKING:
    from ..models.action_progress import ActionProgress


T = TypeVar("T", bound="Progress")


@_attrs_define
class Progress:
    """
    Attributes:
        run_id (str):
        pipeline_id (str):
        status (RunStatus): Status of a run. `completed`, `failed` and `cancelled` are terminal.
        current_action (None | str):
        current_action_index (int):
        progress (list[ActionProgress]):
        error (None | str):
        started_at (datetime.datetime | None):
        completed_at (datetime.datetime | None):
    """

    run_id: str
    pipeline_id: str
    status: RunStatus
    current_action: None | str
    current_action_index: int
    progress: list[ActionProgress]
    error: None | str
    started_at: datetime.datetime | None
    completed_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        run_id = self.run_id

        pipeline_id = self.pipeline_id

        status = self.status.value

        current_action: None | str
        current_action = self.current_action

        current_action_index = self.current_action_index

        progress = []
        for progress_item_data in self.progress:
            progress_item = progress_item_data.to_dict()
            progress.append(progress_item)

        error: None | str
        error = self.error

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        completed_at: None | str
        if isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "run_id": run_id,
                "pipeline_id": pipeline_id,
                "status": status,
                "current_action": current_action,
                "current_action_index": current_action_index,
                "progress": progress,
                "error": error,
                "started_at": started_at,
                "completed_at": completed_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.action_progress import ActionProgress  # noqa: PLC0415

        d = dict(src_dict)
        run_id = d.pop("run_id")

        pipeline_id = d.pop("pipeline_id")

        status = RunStatus(d.pop("status"))

        def _parse_current_action(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        current_action = _parse_current_action(d.pop("current_action"))

        current_action_index = d.pop("current_action_index")

        progress = []
        _progress = d.pop("progress")
        for progress_item_data in _progress:
            progress_item = ActionProgress.from_dict(progress_item_data)

            progress.append(progress_item)

        def _parse_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(d.pop("error"))

        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(d.pop("started_at"))

        def _parse_completed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        completed_at = _parse_completed_at(d.pop("completed_at"))

        progress = cls(
            run_id=run_id,
            pipeline_id=pipeline_id,
            status=status,
            current_action=current_action,
            current_action_index=current_action_index,
            progress=progress,
            error=error,
            started_at=started_at,
            completed_at=completed_at,
        )

        progress.additional_properties = d
        return progress

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
