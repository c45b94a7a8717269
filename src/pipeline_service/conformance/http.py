"""The kit's HTTP session: every exchange is recorded so a failure can show a curl line."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

TOKEN_PLACEHOLDER = "$PIPELINE_SERVICE_TOKEN"


@dataclass(frozen=True)
class Exchange:
    """One request as sent (body as text) and the status it got (None: no answer)."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: str | None
    status: int | None
    stream: bool = False
    token: str | None = field(default=None, repr=False)

    def curl(self) -> str:
        """A curl command line sending the same request (the token is left to the shell)."""
        parts = ["curl", "-sS"]
        if self.stream:
            parts.append("-N")
        if self.method != "GET":
            parts += ["-X", self.method]
        parts.append(shlex.quote(self.url))
        for name, value in self.headers.items():
            scheme, _, credentials = value.partition(" ")
            if self.token and name.lower() == "authorization" and credentials == self.token:
                parts += ["-H", f'"Authorization: {scheme} {TOKEN_PLACEHOLDER}"']
            else:
                parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.body is not None:
            parts += ["--data-binary", shlex.quote(self.body)]
        return " ".join(parts)


def json_text(document: Any) -> str:
    """Compact JSON as the kit sends it."""
    return json.dumps(document, separators=(",", ":"))


class Session:
    """An httpx client on the target; `history` holds the exchanges of the current check."""

    def __init__(self, base_url: str, token: str | None, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self.history: list[Exchange] = []

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        """Send a request (JSON body from `json_body`, or raw `content`: JSON unless `headers`
        give another Content-Type) and record it."""
        sent_headers = self.auth_headers() if auth else {}
        if json_body is not None:
            content = json_text(json_body)
        if content is not None:
            sent_headers["Content-Type"] = "application/json"
        sent_headers.update(headers or {})
        request = self.http.build_request(
            method, path, content=content, headers=sent_headers, params=params
        )
        shown = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        exchange = Exchange(method, str(request.url), sent_headers, shown, None, token=self.token)
        try:
            response = self.http.send(request)
        except httpx.HTTPError:
            self.history.append(exchange)
            raise
        self.history.append(replace(exchange, status=response.status_code))
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json_body=body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, json_body=body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, json_body=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def record(self, exchange: Exchange) -> None:
        self.history.append(exchange)

    def close(self) -> None:
        self.http.close()
