from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.run_status import RunStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.action_progress import ActionProgress


T = TypeVar("T", bound="ProgressUpdate")


@_attrs_define
class ProgressUpdate:
    """Only the fields sent change.

    Attributes:
        current_action (None | str | Unset):
        current_action_index (int | Unset):
        status (RunStatus | Unset): Status of a run. `completed`, `failed` and `cancelled` are terminal.
        action_progress (ActionProgress | Unset): Progress of one action. Unknown fields are accepted and ignored;
            `progress_category`
            (an older name) is accepted for `progress_step`. With `total` null, `progress` is a
            fraction in [0, 1]; with `total` set, it counts units of work up to `total`.
        error (None | str | Unset):
    """

    current_action: None | str | Unset = UNSET
    current_action_index: int | Unset = UNSET
    status: RunStatus | Unset = UNSET
    action_progress: ActionProgress | Unset = UNSET
    error: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        current_action: None | str | Unset
        if isinstance(self.current_action, Unset):
            current_action = UNSET
        else:
            current_action = self.current_action

        current_action_index = self.current_action_index

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        action_progress: dict[str, Any] | Unset = UNSET
        if not isinstance(self.action_progress, Unset):
            action_progress = self.action_progress.to_dict()

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if current_action is not UNSET:
            field_dict["current_action"] = current_action
        if current_action_index is not UNSET:
            field_dict["current_action_index"] = current_action_index
        if status is not UNSET:
            field_dict["status"] = status
        if action_progress is not UNSET:
            field_dict["action_progress"] = action_progress
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.action_progress import ActionProgress  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_current_action(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        current_action = _parse_current_action(d.pop("current_action", UNSET))

        current_action_index = d.pop("current_action_index", UNSET)

        _status = d.pop("status", UNSET)
        status: RunStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = RunStatus(_status)

        _action_progress = d.pop("action_progress", UNSET)
        action_progress: ActionProgress | Unset
        if isinstance(_action_progress, Unset):
            action_progress = UNSET
        else:
            action_progress = ActionProgress.from_dict(_action_progress)

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        progress_update = cls(
            current_action=current_action,
            current_action_index=current_action_index,
            status=status,
            action_progress=action_progress,
            error=error,
        )

        return progress_update
