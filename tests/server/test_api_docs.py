"""`/docs` and `/redoc` are served by the package: pinned files, nothing from elsewhere, under
the dashboard's Content-Security-Policy (tests/dashboard/test_security.py renders them offline)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator

import httpx
import pytest

from pipeline_service.server import EmbeddedServer
from pipeline_service.server.api_docs import DOCS_DIR

VENDORED = json.loads((DOCS_DIR / "VENDORED.json").read_text())


@pytest.fixture
def http(live_server: EmbeddedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


def references(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_a_docs_page_loads_only_files_of_this_server(http: httpx.Client, page: str) -> None:
    response = http.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    for url in references(response.text):
        assert url.startswith("/ui/"), url
        assert http.get(url).status_code == 200, url
    assert "http" not in response.text.replace("http-equiv", "")


def test_redoc_styles_are_allowed_by_a_nonce_of_each_response(http: httpx.Client) -> None:
    nonces = []
    for _ in range(2):
        response = http.get("/redoc")
        [nonce] = re.findall(
            r"style-src 'self' 'nonce-([^']+)'", response.headers["content-security-policy"]
        )
        assert f'<meta property="csp-nonce" nonce="{nonce}">' in response.text
        nonces.append(nonce)
    assert nonces[0] != nonces[1]
    assert "unsafe-inline" not in response.headers["content-security-policy"]


@pytest.mark.parametrize("name", sorted(VENDORED))
def test_each_vendored_file_is_the_pinned_release(http: httpx.Client, name: str) -> None:
    data = (DOCS_DIR / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == VENDORED[name]["sha256"], name
    served = http.get(f"/ui/docs/{name}")
    assert served.status_code == 200
    assert served.content == data
    assert "content-security-policy" in served.headers


def test_only_the_docs_files_are_served(http: httpx.Client) -> None:
    for path in ("/ui/docs/nothing.js", "/ui/docs/VENDORED.json", "/ui/docs/page.html"):
        response = http.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not Found"}
    assert http.get("/ui/docs/%2E%2E%2Fdashboard.py").status_code == 404
    assert http.get("/ui/docs/swagger-ui.css").headers["content-type"].startswith("text/css")
