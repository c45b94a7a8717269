from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.metric_series import MetricSeries


T = TypeVar("T", bound="RunMetrics")


@_attrs_define
class RunMetrics:
    """The metric history of a run, one series per action.

    Attributes:
        run_id (str):
        max_points (int): The most points kept per action.
        max_steps (int): The most points kept per logged metric (series of `logged`).
        actions (list[MetricSeries]):
    """

    run_id: str
    max_points: int
    max_steps: int
    actions: list[MetricSeries]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        run_id = self.run_id

        max_points = self.max_points

        max_steps = self.max_steps

        actions = []
        for actions_item_data in self.actions:
            actions_item = actions_item_data.to_dict()
            actions.append(actions_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "run_id": run_id,
                "max_points": max_points,
                "max_steps": max_steps,
                "actions": actions,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.metric_series import MetricSeries  # noqa: PLC0415

        d = dict(src_dict)
        run_id = d.pop("run_id")

        max_points = d.pop("max_points")

        max_steps = d.pop("max_steps")

        actions = []
        _actions = d.pop("actions")
        for actions_item_data in _actions:
            actions_item = MetricSeries.from_dict(actions_item_data)

            actions.append(actions_item)

        run_metrics = cls(
            run_id=run_id,
            max_points=max_points,
            max_steps=max_steps,
            actions=actions,
        )

        run_metrics.additional_properties = d
        return run_metrics

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
