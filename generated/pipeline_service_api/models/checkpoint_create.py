from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.action_status import ActionStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.checkpoint_create_params_snapshot import (
        CheckpointCreateParamsSnapshot,
    )
    from ..models.checkpoint_create_result import CheckpointCreateResult
    from ..models.checkpoint_create_state_type_0 import CheckpointCreateStateType0


T = TypeVar("T", bound="CheckpointCreate")


@_attrs_define
class CheckpointCreate:
    """A checkpoint after an action (`status` `completed`, the default), or inside one
    (`status` `running`: an in-action checkpoint, with the `step`, `state` and `artifacts`
    the action continues from when it runs again).

        Attributes:
            action_name (str):
            action_index (int):
            status (ActionStatus | Unset): Status of one action of a run. `completed`, `failed`, `skipped` and `cancelled`
                are terminal. When a run is cancelled, its running action becomes `cancelled` at once; the actions after it stay
                `pending` (they never ran).
            params_snapshot (CheckpointCreateParamsSnapshot | None | Unset):
            result (CheckpointCreateResult | None | Unset):
            artifacts_path (None | str | Unset):
            step (int | None | Unset): Where in the action an in-action checkpoint was taken (epoch, iteration…).
            state (CheckpointCreateStateType0 | None | Unset): What an in-action checkpoint needs to continue (JSON, finite
                numbers only).
            artifacts (list[str] | Unset): Paths of artifacts of the run (uploaded before) that belong to this checkpoint; a
                path the run has no artifact at is 422. They never change afterwards.
    """

    action_name: str
    action_index: int
    status: ActionStatus | Unset = UNSET
    params_snapshot: CheckpointCreateParamsSnapshot | None | Unset = UNSET
    result: CheckpointCreateResult | None | Unset = UNSET
    artifacts_path: None | str | Unset = UNSET
    step: int | None | Unset = UNSET
    state: CheckpointCreateStateType0 | None | Unset = UNSET
    artifacts: list[str] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.checkpoint_create_params_snapshot import (
            CheckpointCreateParamsSnapshot,  # noqa: PLC0415
        )
        from ..models.checkpoint_create_result import CheckpointCreateResult  # noqa: PLC0415
        from ..models.checkpoint_create_state_type_0 import CheckpointCreateStateType0  # noqa: PLC0415

        action_name = self.action_name

        action_index = self.action_index

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        params_snapshot: dict[str, Any] | None | Unset
        if isinstance(self.params_snapshot, Unset):
            params_snapshot = UNSET
        elif isinstance(self.params_snapshot, CheckpointCreateParamsSnapshot):
            params_snapshot = self.params_snapshot.to_dict()
        else:
            params_snapshot = self.params_snapshot

        result: dict[str, Any] | None | Unset
        if isinstance(self.result, Unset):
            result = UNSET
        elif isinstance(self.result, CheckpointCreateResult):
            result = self.result.to_dict()
        else:
            result = self.result

        artifacts_path: None | str | Unset
        if isinstance(self.artifacts_path, Unset):
            artifacts_path = UNSET
        else:
            artifacts_path = self.artifacts_path

        step: int | None | Unset
        if isinstance(self.step, Unset):
            step = UNSET
        else:
            step = self.step

        state: dict[str, Any] | None | Unset
        if isinstance(self.state, Unset):
            state = UNSET
        elif isinstance(self.state, CheckpointCreateStateType0):
            state = self.state.to_dict()
        else:
            state = self.state

        artifacts: list[str] | Unset = UNSET
        if not isinstance(self.artifacts, Unset):
            artifacts = self.artifacts

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "action_name": action_name,
                "action_index": action_index,
            }
        )
        if status is not UNSET:
            field_dict["status"] = status
        if params_snapshot is not UNSET:
            field_dict["params_snapshot"] = params_snapshot
        if result is not UNSET:
            field_dict["result"] = result
        if artifacts_path is not UNSET:
            field_dict["artifacts_path"] = artifacts_path
        if step is not UNSET:
            field_dict["step"] = step
        if state is not UNSET:
            field_dict["state"] = state
        if artifacts is not UNSET:
            field_dict["artifacts"] = artifacts

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.checkpoint_create_params_snapshot import (
            CheckpointCreateParamsSnapshot,  # noqa: PLC0415
        )
        from ..models.checkpoint_create_result import CheckpointCreateResult  # noqa: PLC0415
        from ..models.checkpoint_create_state_type_0 import CheckpointCreateStateType0  # noqa: PLC0415

        d = dict(src_dict)
        action_name = d.pop("action_name")

        action_index = d.pop("action_index")

        _status = d.pop("status", UNSET)
        status: ActionStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = ActionStatus(_status)

        def _parse_params_snapshot(
            data: object,
        ) -> CheckpointCreateParamsSnapshot | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                params_snapshot_type_0 = CheckpointCreateParamsSnapshot.from_dict(data)

                return params_snapshot_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CheckpointCreateParamsSnapshot | None | Unset, data)

        params_snapshot = _parse_params_snapshot(d.pop("params_snapshot", UNSET))

        def _parse_result(data: object) -> CheckpointCreateResult | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                result_type_0 = CheckpointCreateResult.from_dict(data)

                return result_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CheckpointCreateResult | None | Unset, data)

        result = _parse_result(d.pop("result", UNSET))

        def _parse_artifacts_path(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        artifacts_path = _parse_artifacts_path(d.pop("artifacts_path", UNSET))

        def _parse_step(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        step = _parse_step(d.pop("step", UNSET))

        def _parse_state(data: object) -> CheckpointCreateStateType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                state_type_0 = CheckpointCreateStateType0.from_dict(data)

                return state_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CheckpointCreateStateType0 | None | Unset, data)

        state = _parse_state(d.pop("state", UNSET))

        artifacts = cast(list[str], d.pop("artifacts", UNSET))

        checkpoint_create = cls(
            action_name=action_name,
            action_index=action_index,
            status=status,
            params_snapshot=params_snapshot,
            result=result,
            artifacts_path=artifacts_path,
            step=step,
            state=state,
            artifacts=artifacts,
        )

        return checkpoint_create
