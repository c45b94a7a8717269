"""Routing details: strict JSON bodies, ids with encoded slashes, both trailing-slash forms."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline_service.server.errors import BadRequest, PayloadTooLarge, error_response

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_JSON_MEDIA = re.compile(r"^application/([\w.+-]+\+)?json\s*(;.*)?$", re.IGNORECASE)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    """A JSON number as a float; one that overflows a double (1e400) is refused."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range (it overflows a double)")
    return value


def parse_json_body(body: bytes) -> Any:
    """Strict JSON: only finite numbers (no NaN/Infinity, nothing that overflows a double), no
    unpaired surrogates, bounded nesting. BadRequest else."""
    try:
        value = json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise BadRequest("request body is nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from exc
    if _SURROGATE_ESCAPE.search(body):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BadRequest("request body contains an unpaired UTF-16 surrogate") from exc
    return value


class _JSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json_body(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """Bodies must be JSON (400 otherwise, including another content type; none means JSON)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["strict_content_type"] = False
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        has_body = self.body_field is not None

        async def strict_handler(request: Request) -> Response:
            request = _JSONRequest(request.scope, request.receive)
            if has_body:
                content_type = request.headers.get("content-type")
                if content_type and not _JSON_MEDIA.match(content_type) and await request.body():
                    raise BadRequest(f"Content-Type must be application/json, not {content_type!r}")
            return await handler(request)

        return strict_handler


def escape_segment(segment: str) -> str:
    """A decoded path segment, with what would change routing escaped again: "%", "/" and a
    newline (Starlette's route patterns end in `$`, which also matches before a final "\n")."""
    return segment.replace("%", "%25").replace("/", "%2F").replace("\n", "%0A")


class SegmentConvertor(Convertor[str]):
    """One path segment, percent-decoded (RawPathMiddleware keeps %2F in segments)."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return unquote(value)

    def to_string(self, value: str) -> str:
        return escape_segment(value)


register_url_convertor("seg", SegmentConvertor())


class RawPathMiddleware:
    """Route on the raw path so an id containing %2F stays one segment.

    Starlette decodes %2F to "/" before routing; here each raw segment is decoded on its own
    and re-escaped by escape_segment, which `{name:seg}` parameters decode again.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path")
        if scope["type"] == "http" and raw and b"%" in raw:
            try:
                segments = raw.decode("ascii").split("?", 1)[0].split("/")
            except UnicodeDecodeError:
                segments = None
            if segments is not None:
                scope = dict(scope)
                scope["path"] = "/".join(
                    escape_segment(unquote(s, errors="replace")) for s in segments
                )
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Request bodies over max_bytes are 413 (by Content-Length, or counted as they arrive),
    except those of requests `exempt(method, path)` names (they enforce a limit of their own)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        exempt: Callable[[str, str], bool] = lambda method, path: False,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.exempt(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > self.max_bytes:
                    await self._too_large(scope, receive, send)
                    return
                break
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(self._detail())
            return message

        await self.app(scope, counting_receive, send)

    def _detail(self) -> str:
        return f"request body is larger than {self.max_bytes} bytes"

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, self._detail(), {"Connection": "close"})
        await response(scope, receive, send)


class _HeadAnswered(Exception):
    """The head of a HEAD response went out: the rest of the GET is not needed."""


class HeadMiddleware:
    """HEAD wherever GET: the request is served as a GET, and only its status and headers go
    out (a stream stops right after its head)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def head_only(message: Message) -> None:
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] == "http.response.body":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                raise _HeadAnswered

        try:
            await self.app({**scope, "method": "GET"}, receive, head_only)
        except _HeadAnswered:
            pass
        except BaseExceptionGroup as group:  # raised inside a streaming response's task group
            rest = group.subgroup(lambda exc: not isinstance(exc, _HeadAnswered))
            if rest is not None:
                raise rest from None


def add_trailing_slash_twins(app: FastAPI) -> None:
    """Answer every path with and without its trailing slash (never a redirect).

    Each twin goes right after its original, so route precedence is unchanged.
    """
    app.router.redirect_slashes = False
    ordered: list[BaseRoute] = []
    for route in app.router.routes:
        ordered.append(route)
        if not isinstance(route, APIRoute) or route.path == "/":
            continue
        twin = route.path[:-1] if route.path.endswith("/") else route.path + "/"
        ordered.append(
            StrictJSONRoute(
                twin,
                route.endpoint,
                methods=list(route.methods or ()),
                status_code=route.status_code,
                response_class=route.response_class,
                include_in_schema=False,
                name=f"{route.name}_twin",
                response_model=None,
            )
        )
    app.router.routes[:] = ordered
