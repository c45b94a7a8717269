from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.step_point import StepPoint


T = TypeVar("T", bound="LoggedMetric")


@_attrs_define
class LoggedMetric:
    """The points of one metric an action logged, in the order logged.

    Attributes:
        name (str):
        recorded (int): How many points were logged (kept or thinned out).
        thinned (bool): True once the series grew past `max_steps` and points were thinned out.
        points (list[StepPoint]):
    """

    name: str
    recorded: int
    thinned: bool
    points: list[StepPoint]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        recorded = self.recorded

        thinned = self.thinned

        points = []
        for points_item_data in self.points:
            points_item = points_item_data.to_dict()
            points.append(points_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "recorded": recorded,
                "thinned": thinned,
                "points": points,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.step_point import StepPoint  # noqa: PLC0415

        d = dict(src_dict)
        name = d.pop("name")

        recorded = d.pop("recorded")

        thinned = d.pop("thinned")

        points = []
        _points = d.pop("points")
        for points_item_data in _points:
            points_item = StepPoint.from_dict(points_item_data)

            points.append(points_item)

        logged_metric = cls(
            name=name,
            recorded=recorded,
            thinned=thinned,
            points=points,
        )

        logged_metric.additional_properties = d
        return logged_metric

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
