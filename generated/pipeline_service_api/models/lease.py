from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.run_status import RunStatus

T = TypeVar("T", bound="Lease")


@_attrs_define
class Lease:
    """
    Attributes:
        run_id (str):
        worker_id (str):
        lease_expires_at (datetime.datetime):
        status (RunStatus): Status of a run. `completed`, `failed` and `cancelled` are terminal.
        lease_token (int): The token of the lease renewed.
    """

    run_id: str
    worker_id: str
    lease_expires_at: datetime.datetime
    status: RunStatus
    lease_token: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        run_id = self.run_id

        worker_id = self.worker_id

        lease_expires_at = self.lease_expires_at.isoformat()

        status = self.status.value

        lease_token = self.lease_token

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "run_id": run_id,
                "worker_id": worker_id,
                "lease_expires_at": lease_expires_at,
                "status": status,
                "lease_token": lease_token,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        run_id = d.pop("run_id")

        worker_id = d.pop("worker_id")

        lease_expires_at = datetime.datetime.fromisoformat(d.pop("lease_expires_at"))

        status = RunStatus(d.pop("status"))

        lease_token = d.pop("lease_token")

        lease = cls(
            run_id=run_id,
            worker_id=worker_id,
            lease_expires_at=lease_expires_at,
            status=status,
            lease_token=lease_token,
        )

        lease.additional_properties = d
        return lease

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
