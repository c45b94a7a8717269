"""Idempotency-Keys in storage: replaying a write's first response, and forgetting keys.

A write sent with an Idempotency-Key (see `server/idempotency.py` for the header and the body's
fingerprint) first looks its key up: within 24 hours, the same key on the same endpoint answers
the stored response and writes nothing; with a different body it is 409. Otherwise the write
runs and stores its response under the key in the same transaction. Each key names the pipeline
or run it wrote to (`resource`); deleting that pipeline or run forgets the key, so a replay
never answers with something that no longer exists.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from pipeline_service.server.errors import Conflict
from pipeline_service.server.storage import documents
from pipeline_service.server.storage.plans import Plan, Query, first

TTL_SECONDS = 24 * 3600

T = TypeVar("T")

Answered = Plan[tuple[T, str] | tuple[T, str, str]]
"""A write that an Idempotency-Key may answer once: its answer, the pipeline or run it names
(see `remember`) and, when the plan has it already, the answer's JSON text."""


@dataclass(frozen=True, slots=True)
class Idempotency:
    """An Idempotency-Key on one endpoint, with the fingerprint of the request body."""

    scope: str
    key: str
    fingerprint: str

    def params(self) -> dict[str, Any]:
        return {"scope": documents.key(self.scope), "key": self.key, "ttl": TTL_SECONDS}


def replayed(idem: Idempotency | None) -> Plan[Any]:
    """The stored response of idem (None when there is none: the write runs); Conflict when
    the key was used with another body. Requests with one key run one after the other."""
    if idem is None:
        return None
    params = idem.params()
    params["serial"] = f"{params['scope']} {idem.key}"
    yield Query("{serialize:serial}", params)
    row = first(
        (
            yield Query(
                "SELECT fingerprint, response FROM idempotency "
                "WHERE scope=:scope AND key=:key AND created > {now} - {seconds:ttl}",
                params,
            )
        )
    )
    if row is None:
        return None
    if row["fingerprint"] != idem.fingerprint:
        raise Conflict(
            f"Idempotency-Key {idem.key!r} was already used with a different request body"
        )
    return json.loads(row["response"])


def idempotent(idem: Idempotency | None, write: Answered[T]) -> Plan[T]:
    """The answer of write, once per key: a replay of idem answers the stored response (write
    never runs); otherwise write runs and its answer is stored for replays, under the resource
    it names beside the answer (the pipeline or run whose deletion forgets the key), encoded
    as the write's third item when it has the text already."""
    replay = yield from replayed(idem)
    if replay is not None:
        return cast(T, replay)
    answer, resource, *encoded = yield from write
    yield from remember(idem, answer, resource, encoded[0] if encoded else None)
    return answer


def remember(
    idem: Idempotency | None, response: Any, resource: str, encoded: str | None = None
) -> Plan[None]:
    """Store response for replays of idem (encoded: its text, when the plan has it already);
    resource: the pipeline or run whose deletion forgets the key. Expired keys go at the same
    time."""
    if idem is None:
        return
    params = idem.params()
    yield Query("DELETE FROM idempotency WHERE created <= {now} - {seconds:ttl}", params)
    yield Query(
        "INSERT INTO idempotency (scope, key, fingerprint, response, created, resource) "
        "VALUES (:scope, :key, :fingerprint, :response, {now}, :resource) "
        "ON CONFLICT (scope, key) DO UPDATE SET fingerprint=excluded.fingerprint, "
        "response=excluded.response, created=excluded.created, resource=excluded.resource",
        {
            **params,
            "fingerprint": idem.fingerprint,
            "response": documents.encode(response) if encoded is None else encoded,
            "resource": resource,
        },
    )


def forget(resources: Iterable[str]) -> Plan[None]:
    """Forget the keys that wrote to these pipelines or runs (they are being deleted)."""
    yield Query(
        "DELETE FROM idempotency WHERE resource=:resource",
        many=[{"resource": resource} for resource in resources],
    )
