from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.log_level import LogLevel
from ..types import UNSET, Unset

T = TypeVar("T", bound="LogRecord")


@_attrs_define
class LogRecord:
    """
    Attributes:
        id (str):
        run_id (str):
        action_name (None | str):
        level (LogLevel):
        message (str):
        timestamp (datetime.datetime):
        seq (int | Unset): Position of the record in its run's log (1, 2, 3…); absent from v1-core servers.
    """

    id: str
    run_id: str
    action_name: None | str
    level: LogLevel
    message: str
    timestamp: datetime.datetime
    seq: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        run_id = self.run_id

        action_name: None | str
        action_name = self.action_name

        level = self.level.value

        message = self.message

        timestamp = self.timestamp.isoformat()

        seq = self.seq

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "run_id": run_id,
                "action_name": action_name,
                "level": level,
                "message": message,
                "timestamp": timestamp,
            }
        )
        if seq is not UNSET:
            field_dict["seq"] = seq

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        run_id = d.pop("run_id")

        def _parse_action_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        action_name = _parse_action_name(d.pop("action_name"))

        level = LogLevel(d.pop("level"))

        message = d.pop("message")

        timestamp = datetime.datetime.fromisoformat(d.pop("timestamp"))

        seq = d.pop("seq", UNSET)

        log_record = cls(
            id=id,
            run_id=run_id,
            action_name=action_name,
            level=level,
            message=message,
            timestamp=timestamp,
            seq=seq,
        )

        log_record.additional_properties = d
        return log_record

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
