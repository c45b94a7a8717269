from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.logged_metric import LoggedMetric
    from ..models.metric_point import MetricPoint


T = TypeVar("T", bound="MetricSeries")


@_attrs_define
class MetricSeries:
    """
    Attributes:
        action_name (str):
        logged (list[LoggedMetric]): The action's logged metrics, one series per name, by name.
        recorded (int): How many points were recorded for this action (kept or thinned out).
        points (list[MetricPoint]): The kept points, ordered by `seq` (and so by time).
    """

    action_name: str
    logged: list[LoggedMetric]
    recorded: int
    points: list[MetricPoint]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        action_name = self.action_name

        logged = []
        for logged_item_data in self.logged:
            logged_item = logged_item_data.to_dict()
            logged.append(logged_item)

        recorded = self.recorded

        points = []
        for points_item_data in self.points:
            points_item = points_item_data.to_dict()
            points.append(points_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "action_name": action_name,
                "logged": logged,
                "recorded": recorded,
                "points": points,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.logged_metric import LoggedMetric  # noqa: PLC0415
        from ..models.metric_point import MetricPoint  # noqa: PLC0415

        d = dict(src_dict)
        action_name = d.pop("action_name")

        logged = []
        _logged = d.pop("logged")
        for logged_item_data in _logged:
            logged_item = LoggedMetric.from_dict(logged_item_data)

            logged.append(logged_item)

        recorded = d.pop("recorded")

        points = []
        _points = d.pop("points")
        for points_item_data in _points:
            points_item = MetricPoint.from_dict(points_item_data)

            points.append(points_item)

        metric_series = cls(
            action_name=action_name,
            logged=logged,
            recorded=recorded,
            points=points,
        )

        metric_series.additional_properties = d
        return metric_series

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
