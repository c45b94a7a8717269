from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.action_definition import ActionDefinition
    from ..models.labels import Labels
    from ..models.runtime_env import RuntimeEnv


T = TypeVar("T", bound="PipelineCreate")


@_attrs_define
class PipelineCreate:
    """
    Attributes:
        name (str):
        actions (list[ActionDefinition]): The actions in order (at least one); names are unique within a pipeline.
        description (None | str | Unset):
        dedicated_workers (bool | Unset): When true, only workers dedicated to this pipeline run it: claims that name it
            in
            `pipeline_id` (`pipeline-service worker --pipeline`). Other workers never claim its
            runs.
             Default: False.
        runtime_env (None | RuntimeEnv | Unset): Code and environment shipped to the nodes that run this pipeline's
            actions (Ray executor).
        labels (Labels | Unset): Labels: `{key: value}` texts to find runs and pipelines by (`team: nlp`). A key is 1 to
            63 characters of letters, digits and `-_./`, beginning and ending with a letter or
            digit; a value is at most 63 characters of letters, digits and `-_.`, beginning and
            ending with a letter or digit, or empty. At most 32 labels. Anything else is 422,
            naming the label.
    """

    name: str
    actions: list[ActionDefinition]
    description: None | str | Unset = UNSET
    dedicated_workers: bool | Unset = False
    runtime_env: None | RuntimeEnv | Unset = UNSET
    labels: Labels | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.runtime_env import RuntimeEnv  # noqa: PLC0415

        name = self.name

        actions = []
        for actions_item_data in self.actions:
            actions_item = actions_item_data.to_dict()
            actions.append(actions_item)

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

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

        field_dict.update(
            {
                "name": name,
                "actions": actions,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
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
        name = d.pop("name")

        actions = []
        _actions = d.pop("actions")
        for actions_item_data in _actions:
            actions_item = ActionDefinition.from_dict(actions_item_data)

            actions.append(actions_item)

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

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

        pipeline_create = cls(
            name=name,
            actions=actions,
            description=description,
            dedicated_workers=dedicated_workers,
            runtime_env=runtime_env,
            labels=labels,
        )

        return pipeline_create
