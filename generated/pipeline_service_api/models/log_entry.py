from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.log_level import LogLevel
from ..types import UNSET, Unset

T = TypeVar("T", bound="LogEntry")


@_attrs_define
class LogEntry:
    """
    Attributes:
        message (str):
        level (LogLevel | Unset):
        action_name (None | str | Unset):
        timestamp (datetime.datetime | None | Unset): When the entry was logged; the server's time when absent. Offset-
            less is UTC.
    """

    message: str
    level: LogLevel | Unset = UNSET
    action_name: None | str | Unset = UNSET
    timestamp: datetime.datetime | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        message = self.message

        level: str | Unset = UNSET
        if not isinstance(self.level, Unset):
            level = self.level.value

        action_name: None | str | Unset
        if isinstance(self.action_name, Unset):
            action_name = UNSET
        else:
            action_name = self.action_name

        timestamp: None | str | Unset
        if isinstance(self.timestamp, Unset):
            timestamp = UNSET
        elif isinstance(self.timestamp, datetime.datetime):
            timestamp = self.timestamp.isoformat()
        else:
            timestamp = self.timestamp

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "message": message,
            }
        )
        if level is not UNSET:
            field_dict["level"] = level
        if action_name is not UNSET:
            field_dict["action_name"] = action_name
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        message = d.pop("message")

        _level = d.pop("level", UNSET)
        level: LogLevel | Unset
        if isinstance(_level, Unset):
            level = UNSET
        else:
            level = LogLevel(_level)

        def _parse_action_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        action_name = _parse_action_name(d.pop("action_name", UNSET))

        def _parse_timestamp(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                timestamp_type_0 = datetime.datetime.fromisoformat(data)

                return timestamp_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        timestamp = _parse_timestamp(d.pop("timestamp", UNSET))

        log_entry = cls(
            message=message,
            level=level,
            action_name=action_name,
            timestamp=timestamp,
        )

        return log_entry
