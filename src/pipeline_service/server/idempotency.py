"""The Idempotency-Key header: which request it names, and the fingerprint of its body (what
storage does with it: `storage/idempotency.py`)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated

from fastapi import Header, Request

from pipeline_service.server.storage.idempotency import Idempotency

KEY_PATTERN = r"^[\x21-\x7E]+$"
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7E]{1,255}")
"""What IdempotencyKeyHeader takes (for handlers that read the header themselves)."""

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=KEY_PATTERN,
        description="A key unique to one logical request (replayed for 24 hours).",
    ),
]


async def idempotency_for(request: Request, key: str | None) -> Idempotency | None:
    """The Idempotency of a request: its endpoint, key and canonical body hash."""
    if key is None:
        return None
    body = await request.json()
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
    scope = f"{request.method} {request.scope['path'].rstrip('/')}"
    return Idempotency(scope=scope, key=key, fingerprint=fingerprint)
