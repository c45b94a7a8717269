from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.action_definition import ActionDefinition
    from ..models.labels import Labels
    from ..models.runtime_env import RuntimeEnv


T = TypeVar("T", bound="Pipeline")


@_attrs_define
class Pipeline:
    """
    Attributes:
        id (str):
        name (str):
        description (None | str):
        actions (list[ActionDefinition]):
        created_at (datetime.datetime):
        updated_at (datetime.datetime):
        dedicated_workers (bool | Unset): Only claims naming this pipeline take its runs (see `claim_run`); absent from
            v1-core servers (which have no workers).
        runtime_env (None | RuntimeEnv | Unset): Code and environment shipped to the nodes that run this pipeline's
            actions (Ray executor); null when none, absent from v1-core servers.
        labels (Labels | Unset): Labels: `{key: value}` texts to find runs and pipelines by (`team: nlp`). A key is 1 to
            63 characters of letters, digits and `-_./`, beginning and ending with a letter or
            digit; a value is at most 63 characters of letters, digits and `-_.`, beginning and
            ending with a letter or digit, or empty. At most 32 labels. Anything else is 422,
            naming the label.
    """

    id: str
    name: str
    description: None | str
    actions: list[ActionDefinition]
    created_at: datetime.datetime
    updated_at: datetime.datetime
    dedicated_workers: bool | Unset = UNSET
    runtime_env: None | RuntimeEnv | Unset = UNSET
    labels: Labels | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.runtime_env import RuntimeEnv  # noqa: PLC0415

        id = self.id

        name = self.name

        description: None | str
        description = self.description

        actions = []
        for actions_item_data in self.actions:
            actions_item = actions_item_data.to_dict()
            actions.append(actions_item)

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        dedicated_workers = self.dedicated_workers

        runtime_env: dict[str, Any] | None | Unset
        if isinstance(self.runtime_env, Unset):
            runtime_env = UNSET
        elif isinstance(self.runtime_env, RuntimeEnv):
            runtime_env = self.runtime_env.to_dict()
        else:
            runtime_env = self.runtime_env

        labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.labels, Unset):
            labels = self.labels.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "description": description,
                "actions": actions,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )
        if dedicated_workers is not UNSET:
            field_dict["dedicated_workers"] = dedicated_workers
        if runtime_env is not UNSET:
            field_dict["runtime_env"] = runtime_env
        if labels is not UNSET:
            field_dict["labels"] = labels

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.action_definition import ActionDefinition  # noqa: PLC0415
        from ..models.labels import Labels  # noqa: PLC0415
        from ..models.runtime_env import RuntimeEnv  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        def _parse_description(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        description = _parse_description(d.pop("description"))

        actions = []
        _actions = d.pop("actions")
        for actions_item_data in _actions:
            actions_item = ActionDefinition.from_dict(actions_item_data)

            actions.append(actions_item)

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        dedicated_workers = d.pop("dedicated_workers", UNSET)

        def _parse_runtime_env(data: object) -> None | RuntimeEnv | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                runtime_env_type_0 = RuntimeEnv.from_dict(data)

                return runtime_env_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RuntimeEnv | Unset, data)

        runtime_env = _parse_runtime_env(d.pop("runtime_env", UNSET))

        _labels = d.pop("labels", UNSET)
        labels: Labels | Unset
        if isinstance(_labels, Unset):
            labels = UNSET
        else:
            labels = Labels.from_dict(_labels)

        pipeline = cls(
            id=id,
            name=name,
            description=description,
            actions=actions,
            created_at=created_at,
            updated_at=updated_at,
            dedicated_workers=dedicated_workers,
            runtime_env=runtime_env,
            labels=labels,
        )

        pipeline.additional_properties = d
        return pipeline

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
