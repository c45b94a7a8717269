"""Every exception the client raises, in one place.

```text
PipelineServiceError
├── APIConnectionError            the server could not be reached / the connection broke
│   └── APITimeoutError           a request (or a whole stream) ran out of time
├── APIStatusError                the server answered with an error status
│   ├── BadRequestError           400
│   ├── AuthenticationError       401
│   ├── NotFoundError             404
│   ├── ConflictError             409
│   ├── UnprocessableEntityError  422
│   ├── RateLimitError            429
│   └── InternalServerError       5xx
├── APIResponseValidationError    a success response whose body is not what the API promises
└── StreamError                   a stream ended before its final event
```
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PipelineServiceError",
    "RateLimitError",
    "StreamError",
    "UnprocessableEntityError",
    "status_error_from_response",
]


class PipelineServiceError(Exception):
    """Base class of every error raised by the pipeline_service client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class APIConnectionError(PipelineServiceError):
    """The server could not be reached, or the connection broke before an answer arrived."""

    default_message = "Connection error."
    """The message when none is given."""

    def __init__(self, message: str | None = None, *, request: httpx.Request | None = None) -> None:
        super().__init__(self.default_message if message is None else message)
        self.request = request


class APITimeoutError(APIConnectionError):
    """A request, or a whole stream given a `timeout`, ran out of time."""

    default_message = "Request timed out."


class APIStatusError(PipelineServiceError):
    """The server answered with an error status; `detail` is the server's explanation."""

    def __init__(
        self,
        status_code: int,
        detail: Any = None,
        response: httpx.Response | None = None,
        *,
        message: str | None = None,
    ) -> None:
        if message is None:
            message = f"{status_code} {_reason(status_code)}"
            text = format_detail(detail)
            if text:
                message = f"{message}: {text}"
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail
        self.response = response


class BadRequestError(APIStatusError):
    """400: the body is not valid JSON or not application/json."""


class AuthenticationError(APIStatusError):
    """401: the bearer token is missing or wrong."""


class NotFoundError(APIStatusError):
    """404: the pipeline, run or checkpoint does not exist."""


class ConflictError(APIStatusError):
    """409: the change is not allowed in the current state (or an Idempotency-Key was reused)."""


class UnprocessableEntityError(APIStatusError):
    """422: a parameter or body field is invalid; `detail` says which."""


class RateLimitError(APIStatusError):
    """429: too many requests."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


class APIResponseValidationError(PipelineServiceError):
    """A success response whose body does not have the shape the API promises."""

    def __init__(self, message: str, *, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = response.status_code if response is not None else None


class StreamError(PipelineServiceError):
    """A stream ended (and could not be resumed) before its final event."""


_STATUS_ERRORS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _reason(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


def format_detail(detail: Any) -> str:
    """The server's `detail` as one line: a string as is, FastAPI's list as `loc: msg; ...`."""
    if detail is None:
        return ""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for issue in detail:
            if isinstance(issue, Mapping) and "msg" in issue:
                loc = issue.get("loc")
                where = ".".join(str(p) for p in loc) if isinstance(loc, list) else ""
                parts.append(f"{where}: {issue['msg']}" if where else str(issue["msg"]))
            else:
                parts.append(str(issue))
        return "; ".join(parts)
    return json.dumps(detail, default=str)


def error_class_for_status(status_code: int) -> type[APIStatusError]:
    """The most specific APIStatusError subclass for a status code (any code works)."""
    if status_code >= 500:
        return InternalServerError if status_code < 600 else APIStatusError
    return _STATUS_ERRORS.get(status_code, APIStatusError)


def status_error_from_response(response: httpx.Response) -> APIStatusError:
    """Build the error for an error response; the body must have been read."""
    detail: Any
    try:
        body = response.json()
    except ValueError:
        body = None
        text = response.text.strip()
        detail = text[:1000] if text else None
    else:
        detail = body.get("detail", body) if isinstance(body, dict) else body
    cls = error_class_for_status(response.status_code)
    return cls(response.status_code, detail, response)
