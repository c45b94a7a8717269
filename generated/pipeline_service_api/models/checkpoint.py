from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.action_status import ActionStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.checkpoint_params_snapshot import CheckpointParamsSnapshot
    from ..models.checkpoint_result import CheckpointResult
    from ..models.checkpoint_state_type_0 import CheckpointStateType0


T = TypeVar("T", bound="Checkpoint")


@_attrs_define
class Checkpoint:
    """
    Attributes:
        id (str):
        run_id (str):
        action_name (str):
        action_index (int):
        status (ActionStatus): Status of one action of a run. `completed`, `failed`, `skipped` and `cancelled` are
            terminal. When a run is cancelled, its running action becomes `cancelled` at once; the actions after it stay
            `pending` (they never ran).
        params_snapshot (CheckpointParamsSnapshot | None):
        result (CheckpointResult | None):
        artifacts_path (None | str):
        created_at (datetime.datetime):
        step (int | None | Unset): The step of an in-action checkpoint. `step`, `state` and `artifacts` are always
            sent by this server (null, null, [] for a checkpoint after an action); absent from
            servers of the v1 core API.
        state (CheckpointStateType0 | None | Unset):
        artifacts (list[str] | Unset):
    """

    id: str
    run_id: str
    action_name: str
    action_index: int
    status: ActionStatus
    params_snapshot: CheckpointParamsSnapshot | None
    result: CheckpointResult | None
    artifacts_path: None | str
    created_at: datetime.datetime
    step: int | None | Unset = UNSET
    state: CheckpointStateType0 | None | Unset = UNSET
    artifacts: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.checkpoint_params_snapshot import CheckpointParamsSnapshot  # noqa: PLC0415
        from ..models.checkpoint_result import CheckpointResult  # noqa: PLC0415
        from ..models.checkpoint_state_type_0 import CheckpointStateType0  # noqa: PLC0415

        id = self.id

        run_id = self.run_id

        action_name = self.action_name

        action_index = self.action_index

        status = self.status.value

        params_snapshot: dict[str, Any] | None
        if isinstance(self.params_snapshot, CheckpointParamsSnapshot):
            params_snapshot = self.params_snapshot.to_dict()
        else:
            params_snapshot = self.params_snapshot

        result: dict[str, Any] | None
        if isinstance(self.result, CheckpointResult):
            result = self.result.to_dict()
        else:
            result = self.result

        artifacts_path: None | str
        artifacts_path = self.artifacts_path

        created_at = self.created_at.isoformat()

        step: int | None | Unset
        if isinstance(self.step, Unset):
            step = UNSET
        else:
            step = self.step

        state: dict[str, Any] | None | Unset
        if isinstance(self.state, Unset):
            state = UNSET
        elif isinstance(self.state, CheckpointStateType0):
            state = self.state.to_dict()
        else:
            state = self.state

        artifacts: list[str] | Unset = UNSET
        if not isinstance(self.artifacts, Unset):
            artifacts = self.artifacts

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "run_id": run_id,
                "action_name": action_name,
                "action_index": action_index,
                "status": status,
                "params_snapshot": params_snapshot,
                "result": result,
                "artifacts_path": artifacts_path,
                "created_at": created_at,
            }
        )
        if step is not UNSET:
            field_dict["step"] = step
        if state is not UNSET:
            field_dict["state"] = state
        if artifacts is not UNSET:
            field_dict["artifacts"] = artifacts

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.checkpoint_params_snapshot import CheckpointParamsSnapshot  # noqa: PLC0415
        from ..models.checkpoint_result import CheckpointResult  # noqa: PLC0415
        from ..models.checkpoint_state_type_0 import CheckpointStateType0  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        run_id = d.pop("run_id")

        action_name = d.pop("action_name")

        action_index = d.pop("action_index")

        status = ActionStatus(d.pop("status"))

        def _parse_params_snapshot(data: object) -> CheckpointParamsSnapshot | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                params_snapshot_type_0 = CheckpointParamsSnapshot.from_dict(data)

                return params_snapshot_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CheckpointParamsSnapshot | None, data)

        params_snapshot = _parse_params_snapshot(d.pop("params_snapshot"))

        def _parse_result(data: object) -> CheckpointResult | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                result_type_0 = CheckpointResult.from_dict(data)

                return result_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CheckpointResult | None, data)

        result = _parse_result(d.pop("result"))

        def _parse_artifacts_path(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        artifacts_path = _parse_artifacts_path(d.pop("artifacts_path"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_step(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        step = _parse_step(d.pop("step", UNSET))

        def _parse_state(data: object) -> CheckpointStateType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                state_type_0 = CheckpointStateType0.from_dict(data)

                return state_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CheckpointStateType0 | None | Unset, data)

        state = _parse_state(d.pop("state", UNSET))

        artifacts = cast(list[str], d.pop("artifacts", UNSET))

        checkpoint = cls(
            id=id,
            run_id=run_id,
            action_name=action_name,
            action_index=action_index,
            status=status,
            params_snapshot=params_snapshot,
            result=result,
            artifacts_path=artifacts_path,
            created_at=created_at,
            step=step,
            state=state,
            artifacts=artifacts,
        )

        checkpoint.additional_properties = d
        return checkpoint

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
