from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.run_status import RunStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.labels import Labels
    from ..models.run_update_result import RunUpdateResult


T = TypeVar("T", bound="RunUpdate")


@_attrs_define
class RunUpdate:
    """Only the fields sent change.

    Attributes:
        status (RunStatus | Unset): Status of a run. `completed`, `failed` and `cancelled` are terminal.
        current_action (None | str | Unset):
        current_action_index (int | Unset):
        result (None | RunUpdateResult | Unset):
        error (None | str | Unset):
        labels (Labels | Unset): Labels: `{key: value}` texts to find runs and pipelines by (`team: nlp`). A key is 1 to
            63 characters of letters, digits and `-_./`, beginning and ending with a letter or
            digit; a value is at most 63 characters of letters, digits and `-_.`, beginning and
            ending with a letter or digit, or empty. At most 32 labels. Anything else is 422,
            naming the label.
    """

    status: RunStatus | Unset = UNSET
    current_action: None | str | Unset = UNSET
    current_action_index: int | Unset = UNSET
    result: None | RunUpdateResult | Unset = UNSET
    error: None | str | Unset = UNSET
    labels: Labels | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.run_update_result import RunUpdateResult  # noqa: PLC0415

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        current_action: None | str | Unset
        if isinstance(self.current_action, Unset):
            current_action = UNSET
        else:
            current_action = self.current_action

        current_action_index = self.current_action_index

        result: dict[str, Any] | None | Unset
        if isinstance(self.result, Unset):
            result = UNSET
        elif isinstance(self.result, RunUpdateResult):
            result = self.result.to_dict()
        else:
            result = self.result

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.labels, Unset):
            labels = self.labels.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if status is not UNSET:
            field_dict["status"] = status
        if current_action is not UNSET:
            field_dict["current_action"] = current_action
        if current_action_index is not UNSET:
            field_dict["current_action_index"] = current_action_index
        if result is not UNSET:
            field_dict["result"] = result
        if error is not UNSET:
            field_dict["error"] = error
        if labels is not UNSET:
            field_dict["labels"] = labels

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.labels import Labels  # noqa: PLC0415
        from ..models.run_update_result import RunUpdateResult  # noqa: PLC0415

        d = dict(src_dict)
        _status = d.pop("status", UNSET)
        status: RunStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = RunStatus(_status)

        def _parse_current_action(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        current_action = _parse_current_action(d.pop("current_action", UNSET))

        current_action_index = d.pop("current_action_index", UNSET)

        def _parse_result(data: object) -> None | RunUpdateResult | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                result_type_0 = RunUpdateResult.from_dict(data)

                return result_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RunUpdateResult | Unset, data)

        result = _parse_result(d.pop("result", UNSET))

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        _labels = d.pop("labels", UNSET)
        labels: Labels | Unset
        if isinstance(_labels, Unset):
            labels = UNSET
        else:
            labels = Labels.from_dict(_labels)

        run_update = cls(
            status=status,
            current_action=current_action,
            current_action_index=current_action_index,
            result=result,
            error=error,
            labels=labels,
        )

        return run_update
