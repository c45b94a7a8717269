"""Routing details: strict JSON bodies, ids with encoded slashes, both trailing-slash forms,
HEAD wherever GET, the body-size limit."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.convertors import (
    Convertor,
    FloatConvertor,
    IntegerConvertor,
    StringConvertor,
    UUIDConvertor,
    register_url_convertor,
)
from starlette.requests import empty_receive
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline_service.server.errors import (
    BadRequest,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
    error_response,
)
from pipeline_service.server.models import field_limit
from pipeline_service.wire import MAX_JSON_DEPTH

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_JSON_MEDIA = re.compile(r"^application/([\w.+-]+\+)?json$", re.IGNORECASE)
_UTF8 = frozenset({"utf-8", "utf8"})
_DOUBLE_DIGITS = 309  # an integer of more digits may not fit a double


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    """A JSON number as a float; one that overflows a double (1e400) is refused."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range (it overflows a double)")
    return value


def _double_int(text: str) -> int:
    """A JSON integer; one beyond a double's range (what every JSON reader can hold) is refused,
    as 1e400 is: browsers would read it as Infinity."""
    value = int(text)
    if len(text) >= _DOUBLE_DIGITS:
        try:
            float(value)
        except OverflowError:
            raise ValueError(
                f"the integer {text[:40]}… ({len(text.lstrip('-'))} digits) is out of range "
                "(it overflows a double)"
            ) from None
    return value


def _too_deep() -> Unprocessable:
    return Unprocessable(
        f"request body nests deeper than {MAX_JSON_DEPTH} levels of objects and arrays "
        f"(the limit is {MAX_JSON_DEPTH})"
    )


_INNERMOST_PAIR = re.compile(rb"\{\}|\[\]")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')


def nests_deeper(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the objects and arrays of body (valid JSON) nest deeper than limit (the outermost
    is level 1). Read from the text by bytes operations, not by walking the parsed value: the
    escapes out (`\\\\` pairs first, then `\\"`), only quotes and brackets kept, the strings out;
    then each pass takes out every innermost pair (one `sub`: the pairs it makes by removing
    others are the next pass's), and a body that empties within limit passes nests at most
    limit levels deep."""
    if b"\\" in body:
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(body.translate(None, _NOT_STRUCTURE).split(b'"')[::2])
    for _ in range(limit):
        brackets = _INNERMOST_PAIR.sub(b"", brackets)
        if not brackets:
            return False
    return True


def parse_json_body(body: bytes) -> Any:
    """Strict JSON: UTF-8 without a byte-order mark; only finite numbers that fit a double (no
    NaN/Infinity, nothing that overflows); no unpaired surrogates; nested at most MAX_JSON_DEPTH
    levels. BadRequest (Unprocessable for the nesting) else."""
    if b"\x00" in body:  # never in UTF-8 JSON; in every UTF-16 or UTF-32 one
        raise BadRequest("request body is not UTF-8 (it holds NUL bytes: UTF-16 or UTF-32?)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"request body is not UTF-8: {exc}") from exc
    if text.startswith("\ufeff"):
        raise BadRequest("request body starts with a byte-order mark (send UTF-8 without one)")
    try:
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_double_int,
        )
    except RecursionError as exc:
        raise _too_deep() from exc
    except ValueError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from exc
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and nests_deeper(body):
        raise _too_deep()
    if _SURROGATE_ESCAPE.search(body):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BadRequest("request body contains an unpaired UTF-16 surrogate") from exc
    return value


def require_json_media_type(content_type: str | None) -> None:
    """UnsupportedMediaType unless content_type is application/json (or `+json`) in UTF-8."""
    if content_type is None:
        raise UnsupportedMediaType(
            "request body has no Content-Type: send it as Content-Type: application/json"
        )
    media, _, parameters = content_type.partition(";")
    if not _JSON_MEDIA.match(media.strip()):
        raise UnsupportedMediaType(
            f"Content-Type must be application/json, not {content_type[:100]!r}"
        )
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in _UTF8:
            raise UnsupportedMediaType(
                f"a JSON body must be UTF-8, not {value.strip()[:40]!r} ({content_type[:100]!r})"
            )


class JSONRequest(Request):
    """A request whose JSON body is read as strict JSON (parse_json_body); body: the body,
    when it was read already."""

    def __init__(self, scope: Scope, receive: Receive = empty_receive, body: bytes | None = None):
        super().__init__(scope, receive)
        if body is not None:
            self._body = body  # where Request keeps the body it read

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json_body(await self.body())
        return self._json


FastPath = Callable[[Request], Awaitable[Response | None]]
"""A hot operation's lean handler: its answer to an ordinary request, or None for the route's
full FastAPI handler to answer (anything unusual, and every refusal: so that they stay the
full handler's, word for word)."""

_FAST_PATHS: dict[Callable[..., Any], FastPath] = {}


def fast_path(endpoint: Callable[..., Any]) -> Callable[[FastPath], FastPath]:
    """Register the decorated function as the lean handler of endpoint's routes (and twins).

    FastAPI resolves each parameter of an endpoint through its dependency machinery (~0.1 ms
    per request on a slow machine, more than a hot write's own work); a lean handler reads the
    few it needs itself and validates the body with the same model."""

    def register(handler: FastPath) -> FastPath:
        _FAST_PATHS[endpoint] = handler
        return handler

    return register


class StrictJSONRoute(APIRoute):
    """A route of the JSON API. One that takes a JSON body (a body model) requires it to be sent
    as `Content-Type: application/json` (415 otherwise) and strict JSON (parse_json_body), with
    each free-form field within the server's `max_field_bytes` (models.field_limit). Routes
    that take another kind of body (a file upload) read it themselves: no body model, no rule."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["strict_content_type"] = False
        kwargs["response_model"] = None  # handlers build their Response; openapi.yaml has bodies
        super().__init__(path, endpoint, **kwargs)

    @property
    def takes_json(self) -> bool:
        """Whether the operation's body is JSON (so that only JSON is accepted)."""
        return self.body_field is not None

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_json = self.takes_json
        endpoint = self.endpoint

        async def strict_handler(request: Request) -> Response:
            request = JSONRequest(request.scope, request.receive)
            if not takes_json:
                fast = _FAST_PATHS.get(endpoint)
                if fast is not None and (response := await fast(request)) is not None:
                    return response
                return await handler(request)
            body = await request.body()
            if not body:  # no body: the model says whether one is required
                return await handler(request)
            require_json_media_type(request.headers.get("content-type"))
            max_field_bytes: int = request.app.state.settings.max_field_bytes
            # A body within the limit cannot hold a field over it: nothing to measure.
            with field_limit(max_field_bytes if len(body) > max_field_bytes else None):
                fast = _FAST_PATHS.get(endpoint)
                if fast is not None:
                    response = await fast(request)
                    if response is not None:
                        return response
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
    out; the answer ends with its head (a quiet stream does not hold the connection until its
    first event or heartbeat)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def head_only(message: Message) -> None:
            if message["type"] == "http.response.start":
                await send(message)
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
            )
        )
    app.router.routes[:] = ordered


# Routes tried first (after /health): the hot writes. The router tries routes in order, ~1.3 µs
# each on a slow machine; report_progress was the 34th, append_logs the 60th.
HOT_ROUTES = ("report_progress", "report_progress_twin", "append_logs", "append_logs_twin")
_AHEAD_OF_HOT = frozenset({"get_health", "get_health_twin"})
# Convertors whose values never hold a "/".
_ONE_SEGMENT = (SegmentConvertor, StringConvertor, IntegerConvertor, FloatConvertor, UUIDConvertor)


def hot_routes_first(app: FastAPI, names: tuple[str, ...] = HOT_ROUTES) -> None:
    """Move the routes named (in that order) forward, each only past routes that no request
    path can match together with it (`_disjoint`): every request is routed exactly as before,
    in fewer tries. /health stays first."""
    routes = app.router.routes
    stop = _AHEAD_OF_HOT | set(names)
    for name in names:
        for route in [r for r in routes if getattr(r, "name", None) == name]:
            index = to = routes.index(route)
            while (
                to > 0
                and getattr(routes[to - 1], "name", None) not in stop
                and _disjoint(routes[to - 1], route)
            ):
                to -= 1
            routes.insert(to, routes.pop(index))


def _segments(route: BaseRoute) -> tuple[list[str | None], bool] | None:
    """The route's path as segments (None: a parameter of one segment), cut at a parameter
    that can span segments (then True); None when it cannot be told (not a plain route)."""
    path = getattr(route, "path", None)
    convertors: dict[str, Convertor[Any]] | None = getattr(route, "param_convertors", None)
    if not isinstance(path, str) or convertors is None:
        return None
    segments: list[str | None] = []
    for segment in path.split("/"):
        if "{" not in segment:
            segments.append(segment)
            continue
        if not (segment.startswith("{") and segment.endswith("}")):
            return None  # a parameter inside a literal segment: not told apart here
        if not isinstance(convertors[segment[1:-1].partition(":")[0]], _ONE_SEGMENT):
            return segments, True  # may span segments (path): anything may follow
        segments.append(None)
    return segments, False


def _disjoint(a: BaseRoute, b: BaseRoute) -> bool:
    """Whether no request path matches both routes: a literal segment differs at one
    position, or (neither spanning segments) they have different numbers of segments."""
    shape_a, shape_b = _segments(a), _segments(b)
    if shape_a is None or shape_b is None:
        return False
    (segments_a, open_a), (segments_b, open_b) = shape_a, shape_b
    pairs = zip(segments_a, segments_b, strict=False)
    if any(x is not None and y is not None and x != y for x, y in pairs):
        return True
    return not open_a and not open_b and len(segments_a) != len(segments_b)
