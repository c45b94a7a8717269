"""What the kit does to a server, seen from inside it (for asserting on the kit's manners)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RecordPipelineNames:
    """Appends to `names` the name of each pipeline a POST or PUT on /api/v1/pipelines… created
    or changed (from the 2xx answer)."""

    def __init__(self, app: ASGIApp, names: list[str]) -> None:
        self.app = app
        self.names = names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("POST", "PUT")
            or not scope["path"].startswith("/api/v1/pipelines")
            or "/runs" in scope["path"]
        ):
            await self.app(scope, receive, send)
            return
        status = 0
        body = b""

        async def record(message: Message) -> None:
            nonlocal status, body
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                body += message.get("body", b"")
                if not message.get("more_body") and 200 <= status < 300:
                    document = json.loads(body)
                    self.names.append(document["name"])
            await send(message)

        await self.app(scope, receive, record)
