from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.run_status import RunStatus

if TYPE_CHECKING:
    from ..models.labels import Labels


T = TypeVar("T", bound="RunSummary")


@_attrs_define
class RunSummary:
    """A run as the runs list shows it (the data of a runs stream's `created`, `changed`
    and `left` events): its status, where it is, how far, and its labels.

        Attributes:
            id (str):
            pipeline_id (str):
            status (RunStatus): Status of a run. `completed`, `failed` and `cancelled` are terminal.
            current_action (None | str):
            current_action_index (int):
            actions (int): How many actions the run has.
            actions_done (int): How many of them completed or were skipped.
            action_progress (float | None): How far the current action is, from 0 to 1 (its `progress`, divided by its
                `total`
                when it has one); null without a current action.
            error (None | str):
            labels (Labels): Labels: `{key: value}` texts to find runs and pipelines by (`team: nlp`). A key is 1 to
                63 characters of letters, digits and `-_./`, beginning and ending with a letter or
                digit; a value is at most 63 characters of letters, digits and `-_.`, beginning and
                ending with a letter or digit, or empty. At most 32 labels. Anything else is 422,
                naming the label.
            created_at (datetime.datetime):
            started_at (datetime.datetime | None):
            completed_at (datetime.datetime | None):
            version (int): The run's version (as the progress stream's ids).
    """

    id: str
    pipeline_id: str
    status: RunStatus
    current_action: None | str
    current_action_index: int
    actions: int
    actions_done: int
    action_progress: float | None
    error: None | str
    labels: Labels
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    completed_at: datetime.datetime | None
    version: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        pipeline_id = self.pipeline_id

        status = self.status.value

        current_action: None | str
        current_action = self.current_action

        current_action_index = self.current_action_index

        actions = self.actions

        actions_done = self.actions_done

        action_progress: float | None
        action_progress = self.action_progress

        error: None | str
        error = self.error

        labels = self.labels.to_dict()

        created_at = self.created_at.isoformat()

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

        version = self.version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "pipeline_id": pipeline_id,
                "status": status,
                "current_action": current_action,
                "current_action_index": current_action_index,
                "actions": actions,
                "actions_done": actions_done,
                "action_progress": action_progress,
                "error": error,
                "labels": labels,
                "created_at": created_at,
                "started_at": started_at,
                "completed_at": completed_at,
                "version": version,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.labels import Labels  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        pipeline_id = d.pop("pipeline_id")

        status = RunStatus(d.pop("status"))

        def _parse_current_action(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        current_action = _parse_current_action(d.pop("current_action"))

        current_action_index = d.pop("current_action_index")

        actions = d.pop("actions")

        actions_done = d.pop("actions_done")

        def _parse_action_progress(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        action_progress = _parse_action_progress(d.pop("action_progress"))

        def _parse_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(d.pop("error"))

        labels = Labels.from_dict(d.pop("labels"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

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

        version = d.pop("version")

        run_summary = cls(
            id=id,
            pipeline_id=pipeline_id,
            status=status,
            current_action=current_action,
            current_action_index=current_action_index,
            actions=actions,
            actions_done=actions_done,
            action_progress=action_progress,
            error=error,
            labels=labels,
            created_at=created_at,
            started_at=started_at,
            completed_at=completed_at,
            version=version,
        )

        run_summary.additional_properties = d
        return run_summary

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
