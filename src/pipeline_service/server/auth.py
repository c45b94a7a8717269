"""Bearer-token authentication of /api/v1 (an ASGI middleware; /health and docs stay open)."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline_service.server.errors import error_response

PROTECTED_PREFIX = "/api/"


class BearerAuth:
    """401 unless `Authorization: Bearer <token>` matches (the scheme name in any case, the token
    compared in constant time), on the paths under PROTECTED_PREFIX."""

    def __init__(self, token: str) -> None:
        self._expected = token.encode()

    def problem(self, scope: Scope) -> tuple[int, str] | None:
        """The refusal of an HTTP request (status, detail), or None when it may go on."""
        if not str(scope["path"]).startswith(PROTECTED_PREFIX):
            return None
        supplied = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                supplied = value
                break
        scheme, _, credentials = supplied.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(
            credentials.strip(b" "), self._expected
        ):
            return None
        return 401, "invalid bearer token" if supplied else "missing bearer token"


class BearerAuthMiddleware:
    """The BearerAuth of token in front of app."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.auth = BearerAuth(token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = self.auth.problem(scope) if scope["type"] == "http" else None
        if problem is None:
            await self.app(scope, receive, send)
            return
        status, detail = problem
        await error_response(status, detail, {"WWW-Authenticate": "Bearer"})(scope, receive, send)
