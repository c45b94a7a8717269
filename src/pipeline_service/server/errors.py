"""Errors of the server and the handlers that turn every one of them into `{"detail": str}`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from pipeline_service.server.middleware import HTTPMiddleware, ResponseWatch

logger = logging.getLogger("pipeline_service.server")


class ServiceError(HTTPException):
    """An error with its HTTP status; raised by routes and storage alike."""

    status_code_default = 500

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(self.status_code_default, detail, headers)


class BadRequest(ServiceError):
    status_code_default = 400


class NotFound(ServiceError):
    status_code_default = 404


class Conflict(ServiceError):
    status_code_default = 409


class PayloadTooLarge(ServiceError):
    status_code_default = 413


class UnsupportedMediaType(ServiceError):
    status_code_default = 415


class Unprocessable(ServiceError):
    status_code_default = 422


class StorageUnavailable(ServiceError):
    status_code_default = 503


def check_batch_size(kind: str, count: int, limit: int) -> None:
    """PayloadTooLarge when a batch of `kind` entries holds more than limit of them."""
    if count > limit:
        raise PayloadTooLarge(f"a {kind} batch holds at most {limit} entries, not {count}")


# The 404 details of what a path names (each written here only).
PIPELINE_NOT_FOUND = "Pipeline not found"
RUN_NOT_FOUND = "Run not found"
CHECKPOINT_NOT_FOUND = "Checkpoint not found"

RETRY_AFTER_SECONDS = 1
"""What a 503 that names no other delay tells the client to wait (`Retry-After`)."""


def error_response(
    status_code: int, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The JSON error body every failure gets; a 503 always says when to retry."""
    if status_code == 503 and not any(name.lower() == "retry-after" for name in headers or ()):
        headers = {**(headers or {}), "Retry-After": str(RETRY_AFTER_SECONDS)}
    return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)


def describe_validation_errors(errors: Sequence[Any]) -> str:
    """One readable line naming each invalid field (FastAPI's list-shaped 422, flattened)."""
    parts: list[str] = []
    for error in list(errors)[:5]:
        loc = [str(item) for item in error.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header"):
            source, fields = loc[0], loc[1:]
        else:
            source, fields = "body", loc
        # pydantic puts the name of a Literal/union member in the location; keep field names only.
        fields = [f for f in fields if not f.startswith(("function-", "literal[", "str", "float"))]
        field = ".".join(fields)
        where = (
            f"{source} field '{field}'"
            if source == "body" and field
            else (f"{source} parameter '{field}'" if field else "request body")
        )
        message = str(error.get("msg", "is invalid"))
        if error.get("type") == "extra_forbidden":
            message = "is not a known field"
        elif error.get("type") == "missing":
            message = "is required"
        elif error.get("type") == "value_error":
            message = str(error.get("ctx", {}).get("error", message))
        parts.append(f"{where}: {message}")
    if len(errors) > 5:
        parts.append(f"and {len(errors) - 5} more")
    return "; ".join(parts) or "invalid request"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return error_response(400, "request body is not valid JSON")
    return error_response(422, describe_validation_errors(errors))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(sorted(_allowed_methods(request)))
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 413 and not isinstance(exc, ServiceError):
        detail = "request body is too large"
    return error_response(exc.status_code, detail, headers or None)


def _allowed_methods(request: Request) -> set[str]:
    """Methods of the path the request matched (Starlette names only the first route's)."""
    from starlette.routing import Match, Route

    methods: set[str] = set()
    scope = dict(request.scope)
    scope["method"] = "\0"
    template: str | None = None
    for route in request.app.router.routes:
        if not isinstance(route, Route):
            continue
        match, _ = route.matches(scope)
        path = route.path_format.rstrip("/")
        if match is Match.PARTIAL and (template is None or path == template):
            template = path
            methods |= route.methods or set()
    if "GET" in methods:
        methods.add("HEAD")  # served by HeadMiddleware
    return methods or {"GET", "HEAD"}


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal server error")


class UnhandledErrorMiddleware(HTTPMiddleware):
    """A bug becomes a JSON 500 answered normally, so the client's connection stays usable.

    (Starlette's own last-resort handler answers too, but then re-raises, and uvicorn drops the
    keep-alive connection under the next request.)
    """

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        watch = ResponseWatch(send)
        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if watch.status is not None:
                raise
            logger.exception(
                "unhandled error on %s %s", scope["method"], scope["path"], exc_info=exc
            )
            await error_response(500, "internal server error")(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Every error the app can produce becomes a JSON `{"detail": str}` response."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled_error)
