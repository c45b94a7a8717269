from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.labels import Labels
    from ..models.run_create_params import RunCreateParams


T = TypeVar("T", bound="RunCreate")


@_attrs_define
class RunCreate:
    """
    Attributes:
        params (None | RunCreateParams | Unset):
        work_dir (None | str | Unset):
        resume_from (None | str | Unset): Id of an earlier run of the same pipeline whose checkpoints this run resumes
            from.
        from_action (None | str | Unset): With `resume_from`: the action to run again, with every action after it; the
            checkpoints of the actions before it are reused.
        labels (Labels | Unset): Labels: `{key: value}` texts to find runs and pipelines by (`team: nlp`). A key is 1 to
            63 characters of letters, digits and `-_./`, beginning and ending with a letter or
            digit; a value is at most 63 characters of letters, digits and `-_.`, beginning and
            ending with a letter or digit, or empty. At most 32 labels. Anything else is 422,
            naming the label.
    """

    params: None | RunCreateParams | Unset = UNSET
    work_dir: None | str | Unset = UNSET
    resume_from: None | str | Unset = UNSET
    from_action: None | str | Unset = UNSET
    labels: Labels | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.run_create_params import RunCreateParams  # noqa: PLC0415

        params: dict[str, Any] | None | Unset
        if isinstance(self.params, Unset):
            params = UNSET
        elif isinstance(self.params, RunCreateParams):
            params = self.params.to_dict()
        else:
            params = self.params

        work_dir: None | str | Unset
        if isinstance(self.work_dir, Unset):
            work_dir = UNSET
        else:
            work_dir = self.work_dir

        resume_from: None | str | Unset
        if isinstance(self.resume_from, Unset):
            resume_from = UNSET
        else:
            resume_from = self.resume_from

        from_action: None | str | Unset
        if isinstance(self.from_action, Unset):
            from_action = UNSET
        else:
            from_action = self.from_action

        labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.labels, Unset):
            labels = self.labels.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if params is not UNSET:
            field_dict["params"] = params
        if work_dir is not UNSET:
            field_dict["work_dir"] = work_dir
        if resume_from is not UNSET:
            field_dict["resume_from"] = resume_from
        if from_action is not UNSET:
            field_dict["from_action"] = from_action
        if labels is not UNSET:
            field_dict["labels"] = labels

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.labels import Labels  # noqa: PLC0415
        from ..models.run_create_params import RunCreateParams  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_params(data: object) -> None | RunCreateParams | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                params_type_0 = RunCreateParams.from_dict(data)

                return params_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RunCreateParams | Unset, data)

        params = _parse_params(d.pop("params", UNSET))

        def _parse_work_dir(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        work_dir = _parse_work_dir(d.pop("work_dir", UNSET))

        def _parse_resume_from(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        resume_from = _parse_resume_from(d.pop("resume_from", UNSET))

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

        run_create = cls(
            params=params,
            work_dir=work_dir,
            resume_from=resume_from,
            from_action=from_action,
            labels=labels,
        )

        return run_create
