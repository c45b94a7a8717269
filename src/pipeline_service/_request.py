"""The policy of the client's request loop: headers, timeouts, retries with backoff, errors.

Every regular operation is a `Call`: the request built by the generated operation module's
`request_kwargs(...)` plus a function that reads the answer. The loop itself is
`AsyncRequester` (`_async_request.py`) and its generated twin `SyncRequester`
(`_sync_request.py`): both send calls over one httpx client (the generated client's, or one
the caller injected) and retry what is safe to retry.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import TypeAdapter, ValidationError

from . import _constants as C
from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
)

__all__ = [
    "Call",
    "ClientConfig",
    "Page",
    "Requester",
    "build_request",
    "connection_error",
    "deadline_after",
    "is_retryable_status",
    "log_response",
    "normalize_base_url",
    "page_reader",
    "read_json",
    "retry_delay",
    "time_left",
]

T = TypeVar("T")

log = logging.getLogger(C.LOGGER_NAME)

# Methods that may be repeated without changing the outcome; POST/PATCH only with a key.
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def _user_agent() -> str:
    from . import __version__

    return f"{C.USER_AGENT_PREFIX}/{__version__}"


def normalize_base_url(raw: str, name: str = "base_url") -> str:
    """The service's base URL as given by a user: `host:8100` → `http://host:8100`, and a
    trailing `/` or `/api/v1` (the API's own prefix) dropped. ValueError, naming `name`, for
    what cannot be the URL of a service over HTTP."""
    url = raw.strip()
    if "://" not in url:
        url = f"http://{url}"
    elif not url.startswith(("http://", "https://")):
        raise ValueError(f"{name} must be an http:// or https:// URL, not {raw!r}")
    url = url.rstrip("/").removesuffix(C.API_PREFIX)
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise ValueError(f"{name} {raw!r} is not a valid URL: {error}") from None
    if not parsed.host:
        raise ValueError(f"{name} {raw!r} has no host; expected e.g. http://127.0.0.1:8100")
    return url


@dataclass(frozen=True)
class ClientConfig:
    """Settings shared by a client and the copies `with_options` makes of it."""

    base_url: str
    token: str | None
    timeout: float
    max_retries: int
    stream_idle_timeout: float
    stream_max_reconnects: int = C.DEFAULT_STREAM_MAX_RECONNECTS

    @classmethod
    def from_arguments(
        cls,
        *,
        base_url: str | None,
        token: str | None,
        timeout: float,
        max_retries: int,
        stream_idle_timeout: float,
        stream_max_reconnects: int = C.DEFAULT_STREAM_MAX_RECONNECTS,
        default_base_url: str | None = None,
    ) -> ClientConfig:
        """Settings from a client's arguments, falling back to the environment, then defaults."""
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if timeout <= 0 or stream_idle_timeout <= 0:
            raise ValueError("timeout and stream_idle_timeout must be positive")
        url = base_url or os.environ.get(C.ENV_BASE_URL) or default_base_url or C.DEFAULT_BASE_URL
        return cls(
            base_url=normalize_base_url(url),
            token=token if token is not None else os.environ.get(C.ENV_TOKEN) or None,
            timeout=timeout,
            max_retries=max_retries,
            stream_idle_timeout=stream_idle_timeout,
            stream_max_reconnects=stream_max_reconnects,
        )

    def __repr__(self) -> str:
        token = "***" if self.token else None
        return (
            f"ClientConfig(base_url={self.base_url!r}, token={token!r}, timeout={self.timeout}, "
            f"max_retries={self.max_retries}, stream_idle_timeout={self.stream_idle_timeout}, "
            f"stream_max_reconnects={self.stream_max_reconnects})"
        )

    def url(self, path: str) -> str:
        """Absolute URL of an API path (the generated modules give paths from the root)."""
        return self.base_url.rstrip("/") + path

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {"User-Agent": _user_agent(), "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if extra:
            headers.update(extra)
        return headers

    def httpx_timeout(
        self, timeout: float | httpx.Timeout | None = None, *, read: float | None = None
    ) -> httpx.Timeout:
        """httpx timeouts for one attempt: `timeout` overall, the connect phase capped."""
        if isinstance(timeout, httpx.Timeout):
            return timeout
        total = self.timeout if timeout is None else timeout
        return httpx.Timeout(
            total,
            connect=min(C.DEFAULT_CONNECT_TIMEOUT, total),
            read=total if read is None else read,
        )


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API operation: the generated request kwargs and how to read a success answer.

    `retry_safe` marks an operation that may be repeated although its method is POST or PATCH
    without an Idempotency-Key (e.g. cancelling a run, which is idempotent by contract).
    """

    kwargs: Mapping[str, Any]
    parse: Callable[[httpx.Response], T]
    retry_safe: bool = False

    @property
    def method(self) -> str:
        return str(self.kwargs["method"]).upper()

    @property
    def path(self) -> str:
        return str(self.kwargs["url"])

    @property
    def can_retry(self) -> bool:
        headers = self.kwargs.get("headers") or {}
        return self.retry_safe or self.method in _IDEMPOTENT_METHODS or "Idempotency-Key" in headers


def build_request(
    http: httpx.Client | httpx.AsyncClient,
    config: ClientConfig,
    kwargs: Mapping[str, Any],
    *,
    timeout: httpx.Timeout,
    headers: Mapping[str, str] | None = None,
) -> httpx.Request:
    """The httpx request for generated `request_kwargs` output, with auth, agent and timeout.

    A `content` that is callable gives the body afresh for each attempt (a streamed file)."""
    extra = dict(kwargs.get("headers") or {})
    if headers:
        extra.update(headers)
    content = kwargs.get("content")
    return http.build_request(
        str(kwargs["method"]).upper(),
        config.url(str(kwargs["url"])),
        params=kwargs.get("params"),
        json=kwargs.get("json"),
        content=content() if callable(content) else content,
        headers=config.headers(extra),
        timeout=timeout,
    )


def deadline_after(timeout: float | None) -> float | None:
    """The monotonic time `timeout` seconds from now (None: no deadline)."""
    return None if timeout is None else time.monotonic() + timeout


def time_left(deadline: float | None, what: str) -> float | None:
    """Seconds left before `deadline`; APITimeoutError (about `what`) once it has passed."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise APITimeoutError(f"{what} did not finish in time.")
    return left


def is_retryable_status(status_code: int) -> bool:
    """408, 429 and every 5xx are worth another attempt."""
    return status_code in (408, 429) or 500 <= status_code < 600


def _retry_after(response: httpx.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("retry-after-ms")
    if value is not None:
        try:
            return float(value) / 1000
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()


def retry_delay(
    attempt: int,
    response: httpx.Response | None = None,
    *,
    initial: float = C.INITIAL_RETRY_DELAY,
    maximum: float = C.MAX_RETRY_DELAY,
) -> float:
    """Seconds to wait before retry number `attempt` (1-based).

    A Retry-After (or retry-after-ms) of up to MAX_RETRY_AFTER seconds is honoured; otherwise
    exponential backoff from `initial`, capped at `maximum`, with up to 25% jitter.
    """
    after = _retry_after(response)
    if after is not None and 0 <= after <= C.MAX_RETRY_AFTER:
        return after
    delay = min(initial * 2.0 ** (attempt - 1), maximum)
    return delay * (1 - 0.25 * random.random())


def connection_error(exc: httpx.TransportError, request: httpx.Request) -> APIConnectionError:
    """The client's error for an httpx transport failure."""
    where = f"{request.method} {request.url}"
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"Request timed out: {where}", request=request)
    return APIConnectionError(f"Connection error: {where}: {exc!r}", request=request)


class Page(list[T]):
    """The items of a list or log page. `next` is the query of the page that continues it when
    the server cut this one short (at its byte cap: `Link: <…>; rel="next"`), else None."""

    def __init__(self, items: Iterable[T] = (), next: Mapping[str, str] | None = None) -> None:
        super().__init__(items)
        self.next = next


def page_reader(adapter: TypeAdapter[list[T]]) -> Callable[[httpx.Response], Page[T]]:
    """Reads a page: its items, and where the server says the next one starts."""

    def read(response: httpx.Response) -> Page[T]:
        link = response.links.get("next")
        following = dict(parse_qsl(urlsplit(link["url"]).query)) if link else None
        return Page(read_json(response, adapter), following)

    return read


def read_json(
    response: httpx.Response,
    adapter: TypeAdapter[Any],
    convert: Callable[[Any], T] | None = None,
) -> T:
    """The body of a success response, validated (and passed through `convert`);
    APIResponseValidationError if it is malformed."""
    try:
        value = adapter.validate_json(response.content)
        return value if convert is None else convert(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise APIResponseValidationError(
            f"Unexpected response body for {response.request.method} {response.request.url}: "
            f"{where}: {first['msg']} ({exc.error_count()} problem(s))",
            response=response,
        ) from exc


def log_response(response: httpx.Response, attempt: int) -> None:
    if log.isEnabledFor(logging.DEBUG):
        request = response.request
        log.debug(
            "%s %s -> %d (attempt %d)",
            request.method,
            request.url,
            response.status_code,
            attempt + 1,
        )


def already_deleted(call: Call[Any], response: httpx.Response, uncertain: bool) -> bool:
    """A retried DELETE answered 404 after an attempt whose answer was lost: the earlier
    attempt deleted it, so the delete succeeded."""
    return uncertain and call.method == "DELETE" and response.status_code == 404


class Requester:
    """What both request loops share: the settings and when to retry."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config

    def next_step(
        self,
        call: Call[Any],
        attempt: int,
        max_retries: int,
        response: httpx.Response | None,
        error: Exception | None,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None when no attempt is left."""
        if not call.can_retry or attempt >= max_retries:
            return None
        if response is not None and not is_retryable_status(response.status_code):
            return None
        delay = retry_delay(attempt + 1, response)
        what = f"{response.status_code}" if response is not None else repr(error)
        log.info(
            "Retrying %s %s in %.2fs after %s (retry %d of %d)",
            call.method,
            call.path,
            delay,
            what,
            attempt + 1,
            max_retries,
        )
        return delay
