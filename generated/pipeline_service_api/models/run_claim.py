from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.run import Run


T = TypeVar("T", bound="RunClaim")


@_attrs_define
class RunClaim:
    """
    Attributes:
        run (Run):
        worker_id (str):
        lease_expires_at (datetime.datetime):
        lease_token (int): Grows with each claim of the run. Send it back as the `Lease-Token` header on every
            write for the run; once another worker has claimed it, those writes are 409.
    """

    run: Run
    worker_id: str
    lease_expires_at: datetime.datetime
    lease_token: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        run = self.run.to_dict()

        worker_id = self.worker_id

        lease_expires_at = self.lease_expires_at.isoformat()

        lease_token = self.lease_token

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "run": run,
                "worker_id": worker_id,
                "lease_expires_at": lease_expires_at,
                "lease_token": lease_token,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.run import Run  # noqa: PLC0415

        d = dict(src_dict)
        run = Run.from_dict(d.pop("run"))

        worker_id = d.pop("worker_id")

        lease_expires_at = datetime.datetime.fromisoformat(d.pop("lease_expires_at"))

        lease_token = d.pop("lease_token")

        run_claim = cls(
            run=run,
            worker_id=worker_id,
            lease_expires_at=lease_expires_at,
            lease_token=lease_token,
        )

        run_claim.additional_properties = d
        return run_claim

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
