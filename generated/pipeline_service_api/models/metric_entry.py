from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.metric_entry_values import MetricEntryValues


T = TypeVar("T", bound="MetricEntry")


@_attrs_define
class MetricEntry:
    """One `log_metrics` call of an action.

    Attributes:
        action_name (str):
        step (int):
        values (MetricEntryValues): Values by metric name (1 to 255 characters); null for a non-finite value.
        timestamp (datetime.datetime | Unset): When the action logged it (the server's time if absent).
    """

    action_name: str
    step: int
    values: MetricEntryValues
    timestamp: datetime.datetime | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        action_name = self.action_name

        step = self.step

        values = self.values.to_dict()

        timestamp: str | Unset = UNSET
        if not isinstance(self.timestamp, Unset):
            timestamp = self.timestamp.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "action_name": action_name,
                "step": step,
                "values": values,
            }
        )
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.metric_entry_values import MetricEntryValues  # noqa: PLC0415

        d = dict(src_dict)
        action_name = d.pop("action_name")

        step = d.pop("step")

        values = MetricEntryValues.from_dict(d.pop("values"))

        _timestamp = d.pop("timestamp", UNSET)
        timestamp: datetime.datetime | Unset
        if isinstance(_timestamp, Unset):
            timestamp = UNSET
        else:
            timestamp = datetime.datetime.fromisoformat(_timestamp)

        metric_entry = cls(
            action_name=action_name,
            step=step,
            values=values,
            timestamp=timestamp,
        )

        return metric_entry
