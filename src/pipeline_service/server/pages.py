"""Answers that are pages (the lists, the log records): encoded off the event loop, and a page
that the storage cut at MAX_PAGE_BYTES says where the next one starts (`Link: <…>; rel="next"`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from pipeline_service.server.storage.paging import Page


def encode_items(items: list[Any]) -> bytes:
    """A JSON array of items, encoded one item at a time (between two, the event loop's thread
    can take the interpreter back: a long page does not stall other requests)."""
    parts = [b"["]
    for i, item in enumerate(items):
        if i:
            parts.append(b",")
        parts.append(
            json.dumps(item, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
        )
    parts.append(b"]")
    return b"".join(parts)


def next_link(request: Request, changes: Mapping[str, str]) -> str:
    """`<URL>; rel="next"`: this request's path and query, with changes applied to the query."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    query.extend(changes.items())
    path = request.scope.get("raw_path", b"").decode("latin-1").split("?", 1)[0]
    return f'<{path or request.url.path}?{urlencode(query)}>; rel="next"'


async def page_response(request: Request, page: Page[Any], after: Mapping[str, str]) -> Response:
    """The JSON answer of a page; when the page was cut short, `Link` to the page that continues
    with the query changes `after` (a skip moved on, or the cursor of its last item)."""
    body = await anyio.to_thread.run_sync(encode_items, page)
    headers = {"Link": next_link(request, after)} if page.more else None
    return Response(body, media_type="application/json", headers=headers)
