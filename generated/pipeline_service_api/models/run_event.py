from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.run_event_details import RunEventDetails


T = TypeVar("T", bound="RunEvent")


@_attrs_define
class RunEvent:
    """One thing that happened to a run.

    Attributes:
        id (int): Grows with every event the service records (the order of a run's events).
        run_id (str):
        type_ (str): What happened (see GET /runs/{run_id}/events); new types may be added.
        time (datetime.datetime):
        worker_id (None | str): The worker that caused it (the lease holder), if any.
        action_name (None | str):
        message (str): What happened, in a sentence.
        details (RunEventDetails): Facts of this type: `host`, `lease_token`, `previous_worker_id`,
            `duration_seconds`, `run_id` (of a resumed / resuming run), `checkpoint_id`, `step`.
    """

    id: int
    run_id: str
    type_: str
    time: datetime.datetime
    worker_id: None | str
    action_name: None | str
    message: str
    details: RunEventDetails
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        run_id = self.run_id

        type_ = self.type_

        time = self.time.isoformat()

        worker_id: None | str
        worker_id = self.worker_id

        action_name: None | str
        action_name = self.action_name

        message = self.message

        details = self.details.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "run_id": run_id,
                "type": type_,
                "time": time,
                "worker_id": worker_id,
                "action_name": action_name,
                "message": message,
                "details": details,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.run_event_details import RunEventDetails  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        run_id = d.pop("run_id")

        type_ = d.pop("type")

        time = datetime.datetime.fromisoformat(d.pop("time"))

        def _parse_worker_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        worker_id = _parse_worker_id(d.pop("worker_id"))

        def _parse_action_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        action_name = _parse_action_name(d.pop("action_name"))

        message = d.pop("message")

        details = RunEventDetails.from_dict(d.pop("details"))

        run_event = cls(
            id=id,
            run_id=run_id,
            type_=type_,
            time=time,
            worker_id=worker_id,
            action_name=action_name,
            message=message,
            details=details,
        )

        run_event.additional_properties = d
        return run_event

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
