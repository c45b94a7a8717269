from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.metric_values import MetricValues


T = TypeVar("T", bound="MetricPoint")


@_attrs_define
class MetricPoint:
    """The numeric metrics of one progress report, with where the action was.

    Attributes:
        seq (int): Position of the point among every point recorded for the action.
        t (datetime.datetime): When the report was stored (server time).
        progress (float): The action's progress after the report (a fraction when `total` is null).
        total (float | None):
        progress_step (None | str):
        values (MetricValues): The report's metrics that are finite numbers, by name.
    """

    seq: int
    t: datetime.datetime
    progress: float
    total: float | None
    progress_step: None | str
    values: MetricValues
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        seq = self.seq

        t = self.t.isoformat()

        progress = self.progress

        total: float | None
        total = self.total

        progress_step: None | str
        progress_step = self.progress_step

        values = self.values.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "seq": seq,
                "t": t,
                "progress": progress,
                "total": total,
                "progress_step": progress_step,
                "values": values,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.metric_values import MetricValues  # noqa: PLC0415

        d = dict(src_dict)
        seq = d.pop("seq")

        t = datetime.datetime.fromisoformat(d.pop("t"))

        progress = d.pop("progress")

        def _parse_total(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        total = _parse_total(d.pop("total"))

        def _parse_progress_step(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        progress_step = _parse_progress_step(d.pop("progress_step"))

        values = MetricValues.from_dict(d.pop("values"))

        metric_point = cls(
            seq=seq,
            t=t,
            progress=progress,
            total=total,
            progress_step=progress_step,
            values=values,
        )

        metric_point.additional_properties = d
        return metric_point

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
