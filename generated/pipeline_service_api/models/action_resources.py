from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.action_resources_custom import ActionResourcesCustom


T = TypeVar("T", bound="ActionResources")


@_attrs_define
class ActionResources:
    """Resources one action needs (Ray's terms). Unknown keys and negative amounts are refused
    (422). Every key is optional.

        Attributes:
            cpus (float | Unset): CPUs (fractions allowed).
            gpus (float | Unset): GPUs (fractions allowed).
            memory (int | Unset): Memory in bytes.
            custom (ActionResourcesCustom | Unset): Custom resources of the cluster, by name, with the amount needed.
    """

    cpus: float | Unset = UNSET
    gpus: float | Unset = UNSET
    memory: int | Unset = UNSET
    custom: ActionResourcesCustom | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        cpus = self.cpus

        gpus = self.gpus

        memory = self.memory

        custom: dict[str, Any] | Unset = UNSET
        if not isinstance(self.custom, Unset):
            custom = self.custom.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if cpus is not UNSET:
            field_dict["cpus"] = cpus
        if gpus is not UNSET:
            field_dict["gpus"] = gpus
        if memory is not UNSET:
            field_dict["memory"] = memory
        if custom is not UNSET:
            field_dict["custom"] = custom

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.action_resources_custom import ActionResourcesCustom  # noqa: PLC0415

        d = dict(src_dict)
        cpus = d.pop("cpus", UNSET)

        gpus = d.pop("gpus", UNSET)

        memory = d.pop("memory", UNSET)

        _custom = d.pop("custom", UNSET)
        custom: ActionResourcesCustom | Unset
        if isinstance(_custom, Unset):
            custom = UNSET
        else:
            custom = ActionResourcesCustom.from_dict(_custom)

        action_resources = cls(
            cpus=cpus,
            gpus=gpus,
            memory=memory,
            custom=custom,
        )

        return action_resources
