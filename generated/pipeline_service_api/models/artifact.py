from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Artifact")


@_attrs_define
class Artifact:
    """A file of a run, kept in the server's artifact store.

    Attributes:
        path (str): Its normalised path in the run.
        size (int):
        sha256 (str):
        action_name (None | str):
        step (int | None):
        checkpoint_id (None | str): The checkpoint of this run that lists it (it never changes then), if any.
        created_at (datetime.datetime):
    """

    path: str
    size: int
    sha256: str
    action_name: None | str
    step: int | None
    checkpoint_id: None | str
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        path = self.path

        size = self.size

        sha256 = self.sha256

        action_name: None | str
        action_name = self.action_name

        step: int | None
        step = self.step

        checkpoint_id: None | str
        checkpoint_id = self.checkpoint_id

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "path": path,
                "size": size,
                "sha256": sha256,
                "action_name": action_name,
                "step": step,
                "checkpoint_id": checkpoint_id,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        path = d.pop("path")

        size = d.pop("size")

        sha256 = d.pop("sha256")

        def _parse_action_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        action_name = _parse_action_name(d.pop("action_name"))

        def _parse_step(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        step = _parse_step(d.pop("step"))

        def _parse_checkpoint_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        checkpoint_id = _parse_checkpoint_id(d.pop("checkpoint_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        artifact = cls(
            path=path,
            size=size,
            sha256=sha256,
            action_name=action_name,
            step=step,
            checkpoint_id=checkpoint_id,
            created_at=created_at,
        )

        artifact.additional_properties = d
        return artifact

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
