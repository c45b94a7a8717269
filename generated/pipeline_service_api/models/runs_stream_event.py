from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.runs_stream_event_event import RunsStreamEventEvent
from ..types import UNSET, Unset

T = TypeVar("T", bound="RunsStreamEvent")


@_attrs_define
class RunsStreamEvent:
    """One Server-Sent Event of the runs stream.

    Attributes:
        event (RunsStreamEventEvent | Unset):
        id (str | Unset): The change's number in the service's change sequence.
        retry (int | Unset):
        data (str | Unset):
    """

    event: RunsStreamEventEvent | Unset = UNSET
    id: str | Unset = UNSET
    retry: int | Unset = UNSET
    data: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event: str | Unset = UNSET
        if not isinstance(self.event, Unset):
            event = self.event.value

        id = self.id

        retry = self.retry

        data = self.data

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if event is not UNSET:
            field_dict["event"] = event
        if id is not UNSET:
            field_dict["id"] = id
        if retry is not UNSET:
            field_dict["retry"] = retry
        if data is not UNSET:
            field_dict["data"] = data

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _event = d.pop("event", UNSET)
        event: RunsStreamEventEvent | Unset
        if isinstance(_event, Unset):
            event = UNSET
        else:
            event = RunsStreamEventEvent(_event)

        id = d.pop("id", UNSET)

        retry = d.pop("retry", UNSET)

        data = d.pop("data", UNSET)

        runs_stream_event = cls(
            event=event,
            id=id,
            retry=retry,
            data=data,
        )

        runs_stream_event.additional_properties = d
        return runs_stream_event

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
