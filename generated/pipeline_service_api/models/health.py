from __future__ import annotations

from collections.abc import Mapping
from typing import (
    Any,
    Literal,
    TypeVar,
    cast,
)

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Health")


@_attrs_define
class Health:
    """
    Attributes:
        status (Literal['healthy']):
        service (str):
        version (str):
        database (str | Unset): The storage backend of this server (`sqlite` or `postgresql`). Optional: older servers
            do not send it.
        listener (str | Unset): PostgreSQL only: the state of this replica's change listener (`listening`). A replica
            whose listener is disconnected answers 503 instead, since its streams would miss changes made through other
            replicas.
    """

    status: Literal["healthy"]
    service: str
    version: str
    database: str | Unset = UNSET
    listener: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status

        service = self.service

        version = self.version

        database = self.database

        listener = self.listener

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "service": service,
                "version": version,
            }
        )
        if database is not UNSET:
            field_dict["database"] = database
        if listener is not UNSET:
            field_dict["listener"] = listener

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = cast(Literal["healthy"], d.pop("status"))
        if status != "healthy":
            raise ValueError(f"status must match const 'healthy', got '{status}'")

        service = d.pop("service")

        version = d.pop("version")

        database = d.pop("database", UNSET)

        listener = d.pop("listener", UNSET)

        health = cls(
            status=status,
            service=service,
            version=version,
            database=database,
            listener=listener,
        )

        health.additional_properties = d
        return health

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
