from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="StepPoint")


@_attrs_define
class StepPoint:
    """One logged value of a metric.

    Attributes:
        seq (int): Position of the point among every point logged for the metric.
        step (int): The step the action logged it at (epoch, iteration…).
        value (float | None): The value; null where the action logged NaN or ±infinity.
        attempt (int): The run's `lease_token` when the point was stored: a takeover (another claim) starts a
            new attempt, and charts break the line between attempts.
        t (datetime.datetime): When the action logged it (else when it was stored).
    """

    seq: int
    step: int
    value: float | None
    attempt: int
    t: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        seq = self.seq

        step = self.step

        value: float | None
        value = self.value

        attempt = self.attempt

        t = self.t.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "seq": seq,
                "step": step,
                "value": value,
                "attempt": attempt,
                "t": t,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        seq = d.pop("seq")

        step = d.pop("step")

        def _parse_value(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        value = _parse_value(d.pop("value"))

        attempt = d.pop("attempt")

        t = datetime.datetime.fromisoformat(d.pop("t"))

        step_point = cls(
            seq=seq,
            step=step,
            value=value,
            attempt=attempt,
            t=t,
        )

        step_point.additional_properties = d
        return step_point

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
