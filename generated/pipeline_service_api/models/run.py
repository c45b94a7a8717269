from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.run_status import RunStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.action_progress import ActionProgress
    from ..models.labels import Labels
    from ..models.run_params import RunParams
    from ..models.run_result import RunResult


T = TypeVar("T", bound="Run")


@_attrs_define
class Run:
    """
    Attributes:
        id (str):
        pipeline_id (str):
        status (RunStatus): Status of a run. `completed`, `failed` and `cancelled` are terminal.
        params (None | RunParams):
        current_action (None | str):
        current_action_index (int):
        progress (list[ActionProgress]):
        result (None | RunResult):
        error (None | str):
        work_dir (None | str):
        started_at (datetime.datetime | None):
        completed_at (datetime.datetime | None):
        created_at (datetime.datetime):
        resumed_from (None | str | Unset): The run this one resumes (its `resume_from`); null for a fresh run. Always
            sent by
            this server; absent from servers of the v1 core API.
        from_action (None | str | Unset): The action this run re-ran from (its `from_action`), if one was given. Always
            sent
            by this server; absent from servers of the v1 core API.
        labels (Labels | Unset): Labels: `{key: value}` texts to find runs and pipelines by (`team: nlp`). A key is 1 to
            63 characters of letters, digits and `-_./`, beginning and ending with a letter or
            digit; a value is at most 63 characters of letters, digits and `-_.`, beginning and
            ending with a letter or digit, or empty. At most 32 labels. Anything else is 422,
            naming the label.
    """

    id: str
    pipeline_id: str
    status: RunStatus
    params: None | RunParams
    current_action: None | str
    current_action_index: int
    progress: list[ActionProgress]
    result: None | RunResult
    error: None | str
    work_dir: None | str
    started_at: datetime.datetime | None
    completed_at: datetime.datetime | None
    created_at: datetime.datetime
    resumed_from: None | str | Unset = UNSET
    from_action: None | str | Unset = UNSET
    labels: Labels | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.run_params import RunParams  # noqa: PLC0415
        from ..models.run_result import RunResult  # noqa: PLC0415

        id = self.id

        pipeline_id = self.pipeline_id

        status = self.status.value

        params: dict[str, Any] | None
        if isinstance(self.params, RunParams):
            params = self.params.to_dict()
        else:
            params = self.params

        current_action: None | str
        current_action = self.current_action

        current_action_index = self.current_action_index

        progress = []
        for progress_item_data in self.progress:
            progress_item = progress_item_data.to_dict()
            progress.append(progress_item)

        result: dict[str, Any] | None
        if isinstance(self.result, RunResult):
            result = self.result.to_dict()
        else:
            result = self.result

        error: None | str
        error = self.error

        work_dir: None | str
        work_dir = self.work_dir

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

        created_at = self.created_at.isoformat()

        resumed_from: None | str | Unset
        if isinstance(self.resumed_from, Unset):
            resumed_from = UNSET
        else:
            resumed_from = self.resumed_from

        from_action: None | str | Unset
        if isinstance(self.from_action, Unset):
            from_action = UNSET
        else:
            from_action = self.from_action

        labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.labels, Unset):
            labels = self.labels.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "pipeline_id": pipeline_id,
                "status": status,
                "params": params,
                "current_action": current_action,
                "current_action_index": current_action_index,
                "progress": progress,
                "result": result,
                "error": error,
                "work_dir": work_dir,
                "started_at": started_at,
                "completed_at": completed_at,
                "created_at": created_at,
            }
        )
        if resumed_from is not UNSET:
            field_dict["resumed_from"] = resumed_from
        if from_action is not UNSET:
            field_dict["from_action"] = from_action
        if labels is not UNSET:
            field_dict["labels"] = labels

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.action_progress import ActionProgress  # noqa: PLC0415
        from ..models.labels import Labels  # noqa: PLC0415
        from ..models.run_params import RunParams  # noqa: PLC0415
        from ..models.run_result import RunResult  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        pipeline_id = d.pop("pipeline_id")

        status = RunStatus(d.pop("status"))

        def _parse_params(data: object) -> None | RunParams:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                params_type_0 = RunParams.from_dict(data)

                return params_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RunParams, data)

        params = _parse_params(d.pop("params"))

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

        def _parse_result(data: object) -> None | RunResult:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                result_type_0 = RunResult.from_dict(data)

                return result_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RunResult, data)

        result = _parse_result(d.pop("result"))

        def _parse_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(d.pop("error"))

        def _parse_work_dir(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        work_dir = _parse_work_dir(d.pop("work_dir"))

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

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_resumed_from(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        resumed_from = _parse_resumed_from(d.pop("resumed_from", UNSET))

        def _parse_from_action(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        from_action = _parse_from_action(d.pop("from_action", UNSET))

        _labels = d.pop("labels", UNSET)
        labels: Labels | Unset
        if isinstance(_labels, Unset):
            labels = UNSET
        else:
            labels = Labels.from_dict(_labels)

        run = cls(
            id=id,
            pipeline_id=pipeline_id,
            status=status,
            params=params,
            current_action=current_action,
            current_action_index=current_action_index,
            progress=progress,
            result=result,
            error=error,
            work_dir=work_dir,
            started_at=started_at,
            completed_at=completed_at,
            created_at=created_at,
            resumed_from=resumed_from,
            from_action=from_action,
            labels=labels,
        )

        run.additional_properties = d
        return run

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
