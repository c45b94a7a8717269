from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="LeaseRequest")


@_attrs_define
class LeaseRequest:
    """
    Attributes:
        worker_id (str):
        lease_seconds (float | Unset):  Default: 30.0.
    """

    worker_id: str
    lease_seconds: float | Unset = 30.0

    def to_dict(self) -> dict[str, Any]:
        worker_id = self.worker_id

        lease_seconds = self.lease_seconds

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "worker_id": worker_id,
            }
        )
        if lease_seconds is not UNSET:
            field_dict["lease_seconds"] = lease_seconds

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        worker_id = d.pop("worker_id")

        lease_seconds = d.pop("lease_seconds", UNSET)

        lease_request = cls(
            worker_id=worker_id,
            lease_seconds=lease_seconds,
        )

        return lease_request
