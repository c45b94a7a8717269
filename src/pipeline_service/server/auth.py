"""Bearer-token authentication of /api/v1 (an ASGI middleware; /health and docs stay open)."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline_service.server.errors import error_response

PROTECTED_PREFIX = "/api/"


class BearerAuthMiddleware:
    """Answers 401 unless `Authorization: Bearer <token>` matches (the scheme name in any case,
    the token compared in constant time)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith(PROTECTED_PREFIX):
            supplied = b""
            for name, value in scope["headers"]:
                if name == b"authorization":
                    supplied = value
                    break
            scheme, _, credentials = supplied.partition(b" ")
            valid = scheme.lower() == b"bearer" and hmac.compare_digest(
                credentials.strip(b" "), self._expected
            )
            if not valid:
                detail = "invalid bearer token" if supplied else "missing bearer token"
                response = error_response(401, detail, {"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
