"""The dashboard's files: served at / and /ui/…, self-contained, open without the token."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from pipeline_service.server import EmbeddedServer
from pipeline_service.server.dashboard import UI_DIR

ASSETS = sorted(path.name for path in (UI_DIR / "assets").iterdir())
MODULE_IMPORT = re.compile(r'^import .* from "\./([\w.-]+)";$', re.MULTILINE)


@pytest.fixture
def http(server_factory: Callable[..., EmbeddedServer]) -> httpx.Client:
    server = server_factory(token="s3cret")
    return httpx.Client(base_url=server.url, timeout=30)


@pytest.mark.parametrize("path", ["/", "/ui", "/ui/", "/ui/runs/some-run", "/ui/pipelines"])
def test_pages_are_the_dashboard(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/ui/assets/app.js"></script>' in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "connect-src 'self'" in policy


def test_every_referenced_file_is_served(http: httpx.Client) -> None:
    index = http.get("/").text
    referenced = set(re.findall(r'"/ui/assets/([\w.-]+)"', index))
    for name in ASSETS:
        if name.endswith(".js"):
            referenced |= set(MODULE_IMPORT.findall((UI_DIR / "assets" / name).read_text()))
    assert referenced
    assert referenced <= set(ASSETS)
    for name in referenced:
        response = http.get(f"/ui/assets/{name}")
        assert response.status_code == 200, name
        expected = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}
        assert response.headers["content-type"].startswith(expected[name.rsplit(".", 1)[1]])
        assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path", ["/ui/assets/missing.js", "/ui/assets/..%2Fdashboard.py", "/ui/assets/"]
)
def test_unknown_assets_are_404(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_nothing_is_fetched_from_elsewhere() -> None:
    for name in [*ASSETS, "../index.html"]:
        text = (UI_DIR / "assets" / name).read_text()
        urls = set(re.findall(r"\b(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*", text))
        assert urls <= {"http://www.w3.org/2000/svg"}, (name, urls)  # a namespace, not a fetch


def test_the_api_still_needs_the_token(http: httpx.Client) -> None:
    assert http.get("/api/v1/runs/").status_code == 401
    assert http.head("/").status_code == 200
