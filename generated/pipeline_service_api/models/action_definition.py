from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.action_resources import ActionResources


T = TypeVar("T", bound="ActionDefinition")


@_attrs_define
class ActionDefinition:
    """One step of a pipeline. Unknown fields are accepted and ignored.

    Attributes:
        name (str):
        entrypoint (str): Dotted path of a class or function, `package.module.Name` or `package.module:Name`.
        description (None | str | Unset):
        resources (ActionResources | None | Unset): What the action needs to run. The Ray executor requests exactly this
            from Ray (an
            action asking for a GPU waits for one); the process executor runs the action as
            usual and says so once in the run's log. Absent when the action asked for nothing.
    """

    name: str
    entrypoint: str
    description: None | str | Unset = UNSET
    resources: ActionResources | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.action_resources import ActionResources  # noqa: PLC0415

        name = self.name

        entrypoint = self.entrypoint

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        resources: dict[str, Any] | None | Unset
        if isinstance(self.resources, Unset):
            resources = UNSET
        elif isinstance(self.resources, ActionResources):
            resources = self.resources.to_dict()
        else:
            resources = self.resources

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "entrypoint": entrypoint,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if resources is not UNSET:
            field_dict["resources"] = resources

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.action_resources import ActionResources  # noqa: PLC0415

        d = dict(src_dict)
        name = d.pop("name")

        entrypoint = d.pop("entrypoint")

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

        def _parse_resources(data: object) -> ActionResources | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                resources_type_0 = ActionResources.from_dict(data)

                return resources_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ActionResources | None | Unset, data)

        resources = _parse_resources(d.pop("resources", UNSET))

        action_definition = cls(
            name=name,
            entrypoint=entrypoint,
            description=description,
            resources=resources,
        )

        action_definition.additional_properties = d
        return action_definition

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
