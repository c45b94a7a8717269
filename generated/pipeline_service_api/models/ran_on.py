from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="RanOn")


@_attrs_define
class RanOn:
    """Where an action ran (reported by the executor once the action started).

    Attributes:
        executor (str): `process` or `ray`.
        node (None | str | Unset): The host (process executor) or Ray node id (Ray executor).
        task_id (None | str | Unset): The process id (process executor) or Ray task id (Ray executor).
    """

    executor: str
    node: None | str | Unset = UNSET
    task_id: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        executor = self.executor

        node: None | str | Unset
        if isinstance(self.node, Unset):
            node = UNSET
        else:
            node = self.node

        task_id: None | str | Unset
        if isinstance(self.task_id, Unset):
            task_id = UNSET
        else:
            task_id = self.task_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "executor": executor,
            }
        )
        if node is not UNSET:
            field_dict["node"] = node
        if task_id is not UNSET:
            field_dict["task_id"] = task_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        executor = d.pop("executor")

        def _parse_node(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        node = _parse_node(d.pop("node", UNSET))

        def _parse_task_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        task_id = _parse_task_id(d.pop("task_id", UNSET))

        ran_on = cls(
            executor=executor,
            node=node,
            task_id=task_id,
        )

        return ran_on
