"""What a browser can and cannot do to a server on this machine: the API docs offline and under
the dashboard's policy, pages of other sites unable to write (cross-site requests, DNS
rebinding), the remembered token, and numbers too large to print in full."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import CHROMIUM, CHROMIUM_FLAGS, TOKEN_KEY, missing, open_page

try:
    from playwright.sync_api import Browser, Page, Route, expect
except ImportError:
    missing("playwright is not installed (pip install -e '.[dev]')", module=True)

from pipeline_service.server import EmbeddedServer
from tests.sample import ACTIONS, API

pytestmark = pytest.mark.slow

expect.set_options(timeout=60_000)

ATTACKER = "http://attacker.test"
REBOUND = "rebound.test"  # a name of another site that the browser resolves to 127.0.0.1


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium that resolves REBOUND to 127.0.0.1 (what DNS rebinding achieves) and does not
    block pages of public sites from reaching loopback by itself (not every browser does): the
    server has to hold on its own."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install -e '.[dev]')")
    if not Path(CHROMIUM).is_file():
        missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    flags = [
        *CHROMIUM_FLAGS,
        f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1",
        "--disable-features=PrivateNetworkAccessSendPreflights,"
        "PrivateNetworkAccessRespectPreflightResults,BlockInsecurePrivateNetworkRequests,"
        "LocalNetworkAccessChecks",
    ]
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
        except Error as error:
            missing(f"Chromium at {CHROMIUM} does not start: {error.message.splitlines()[0]}")
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """A server without a token on 127.0.0.1 (as `pipeline-service serve` starts by default)."""
    with EmbeddedServer(tmp_path_factory.mktemp("open") / "open.db") as running:
        yield running


@pytest.fixture
def requests_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The server's request lines (`"POST /api/v1/… 415"`): proof that a request got there."""
    caplog.set_level(logging.INFO, logger="pipeline_service.server")
    return caplog


def answered(log: pytest.LogCaptureFixture, method: str, path: str) -> list[int]:
    """The statuses the server answered `method path` with."""
    statuses = []
    for record in log.records:
        text = record.getMessage()
        if f'"{method} {path}"' in text:
            statuses.append(int(text.rsplit('" ', 1)[1].split()[0]))
    return statuses


def wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def serve_page(page: Page, url: str, html: str) -> None:
    """Makes the browser get `html` for `url` (a page of another site), and go there."""

    def fulfil(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=html)

    page.route(url, fulfil)
    page.goto(url)


@pytest.mark.parametrize(("path", "ready"), [("/docs", ".opblock"), ("/redoc", "h1")])
def test_the_api_docs_work_offline_under_the_dashboard_policy(
    browser: Browser, server: EmbeddedServer, path: str, ready: str
) -> None:
    page, errors = open_page(browser, token=None)
    outside: list[str] = []

    def only_this_server(route: Route) -> None:
        if route.request.url.startswith(server.url + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_this_server)
    response = page.goto(server.url + path)
    assert response is not None
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    expect(page.locator(ready).first).to_be_visible()
    assert "Pipeline Service API" in page.content()
    page.context.close()
    assert outside == []
    assert errors == []


def test_a_page_of_another_site_cannot_write(
    browser: Browser, server: EmbeddedServer, requests_log: pytest.LogCaptureFixture
) -> None:
    with httpx.Client(base_url=server.url + API) as http:
        pipeline = http.post("/pipelines/", json={"name": "victim", "actions": ACTIONS}).json()
        run = http.post(f"/pipelines/{pipeline['id']}/runs/", json={}).json()
        pipelines_before = http.get("/pipelines/").json()
    target = server.url + API
    page, _ = open_page(browser, token=None)
    # What a page can send without a CORS preflight: a no-cors POST of a JSON text as a Blob
    # (no content type) or as text/plain, and a POST without a body; then a real JSON POST,
    # which needs a preflight the server never grants.
    serve_page(
        page,
        ATTACKER + "/",
        f"""<script>
        const target = {target!r};
        const pipeline = JSON.stringify({{name: "planted", actions: [{{name: "a",
            entrypoint: "m.a"}}]}});
        window.done = Promise.allSettled([
          fetch(target + "/pipelines/", {{method: "POST", mode: "no-cors",
            body: new Blob([pipeline])}}),
          fetch(target + "/pipelines/", {{method: "POST", mode: "no-cors", body: pipeline,
            headers: {{"Content-Type": "text/plain"}}}}),
          fetch(target + "/runs/claim", {{method: "POST", mode: "no-cors",
            body: new Blob([JSON.stringify({{worker_id: "thief", lease_seconds: 3600}})])}}),
          fetch(target + "/runs/{run["id"]}/cancel", {{method: "POST", mode: "no-cors"}}),
          fetch(target + "/runs/claim", {{method: "POST", body: '{{"worker_id": "thief"}}',
            headers: {{"Content-Type": "application/json"}}}}),
        ]).then((results) => results.map((r) => r.status));
        </script>""",
    )
    outcomes = page.evaluate("window.done")
    assert outcomes[-1] == "rejected"  # the preflight was not granted
    # Each request reached the server, and was refused: the page's Origin is another site's
    # (403; without it, the bodies would be 415 for their content type: tests/server).
    wait_for(lambda: len(answered(requests_log, "POST", f"{API}/pipelines/")) >= 3, "the POSTs")
    assert answered(requests_log, "POST", f"{API}/pipelines/") == [201, 403, 403]  # setup, 2
    assert answered(requests_log, "POST", f"{API}/runs/{run['id']}/cancel") == [403]
    assert set(answered(requests_log, "POST", f"{API}/runs/claim")) == {403}
    page.context.close()
    with httpx.Client(base_url=server.url + API) as http:
        assert http.get("/pipelines/").json() == pipelines_before
        after = http.get(f"/runs/{run['id']}").json()
    assert after["status"] == "pending"
    assert after == run


def test_a_rebound_name_cannot_read_or_write(
    browser: Browser, server: EmbeddedServer, requests_log: pytest.LogCaptureFixture
) -> None:
    """A page of another site whose name now resolves to 127.0.0.1 reaches the server with
    that name as `Host`: refused, so it reads nothing and writes nothing."""
    origin = f"http://{REBOUND}:{server.port}"
    page, _ = open_page(browser, token=None)
    serve_page(
        page,
        origin + "/",
        f"""<script>
        window.done = (async () => {{
          const read = await fetch("{API}/runs/");
          const write = await fetch("{API}/pipelines/", {{method: "POST",
            headers: {{"Content-Type": "application/json"}},
            body: JSON.stringify({{name: "rebound", actions: [{{name: "a", entrypoint: "m.a"}}]}})
          }});
          return [read.status, await read.text(), write.status];
        }})();
        </script>""",
    )
    read_status, read_body, write_status = page.evaluate("window.done")
    page.context.close()
    assert read_status == 421
    assert "does not answer to the name 'rebound.test'" in read_body
    assert write_status == 421
    with httpx.Client(base_url=server.url + API) as http:
        assert "rebound" not in [p["name"] for p in http.get("/pipelines/").json()]


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(tmp_path_factory.mktemp("guarded") / "g.db", token="tab-token") as s:
        yield s


def enter_token(page: Page, token: str, *, remember: bool) -> None:
    expect(page.locator("#token-dialog")).to_be_visible()
    page.fill("#token-input", token)
    if remember:
        page.check("#token-remember")
    page.click("#token-form button[type=submit]")
    expect(page.locator("#token-dialog")).to_be_hidden()


def test_the_token_is_kept_for_the_tab_unless_remembered_and_then_expires(
    browser: Browser, guarded: EmbeddedServer
) -> None:
    page, errors = open_page(browser, token=None)
    page.goto(guarded.url + "/")
    field = page.locator("#token-input")
    expect(field).to_be_visible()
    # Nothing that invites a password manager: no password field, no username, no autofill.
    assert page.locator("input[type=password]").count() == 0
    assert page.locator("input[autocomplete=username]").count() == 0
    assert field.get_attribute("autocomplete") == "off"
    assert field.evaluate("el => getComputedStyle(el).webkitTextSecurity") == "disc"  # masked
    enter_token(page, "tab-token", remember=False)
    assert page.evaluate(f"sessionStorage.getItem({TOKEN_KEY!r})") == "tab-token"
    assert page.evaluate(f"localStorage.getItem({TOKEN_KEY!r})") is None
    # Another tab of the same browser does not have it.
    other = page.context.new_page()
    other.goto(guarded.url + "/")
    expect(other.locator("#token-dialog")).to_be_visible()
    enter_token(other, "tab-token", remember=True)
    kept = other.evaluate(f"JSON.parse(localStorage.getItem({TOKEN_KEY!r}))")
    now_ms = other.evaluate("Date.now()")
    assert kept["token"] == "tab-token"
    assert 6.9 * 86_400_000 < kept["expires"] - now_ms <= 7 * 86_400_000
    other.close()
    # A remembered token whose time is up is forgotten: the page asks again.
    page.evaluate(f"sessionStorage.removeItem({TOKEN_KEY!r})")
    page.evaluate(
        f"localStorage.setItem({TOKEN_KEY!r}, "
        "JSON.stringify({token: 'tab-token', expires: Date.now() - 1}))"
    )
    page.reload()
    expect(page.locator("#token-dialog")).to_be_visible()
    assert page.evaluate(f"localStorage.getItem({TOKEN_KEY!r})") is None
    page.context.close()
    assert errors == []


def test_a_huge_metric_does_not_widen_the_run_page(
    browser: Browser, server: EmbeddedServer
) -> None:
    with httpx.Client(base_url=server.url + API) as http:
        pipeline = http.post("/pipelines/", json={"name": "huge", "actions": ACTIONS}).json()
        run = http.post(f"/pipelines/{pipeline['id']}/runs/", json={}).json()
        report = {
            "status": "running",
            "action_progress": {"name": "train", "status": "running", "metrics": {"huge": 1e308}},
        }
        assert http.post(f"/runs/{run['id']}/progress", json=report).status_code == 200
        digits = "1" + "0" * 300  # an integer (not a float) as large
        report["action_progress"]["metrics"] = {"huge": 1e308, "exact": int(digits)}  # type: ignore[index]
        assert http.post(f"/runs/{run['id']}/progress", json=report).status_code == 200
    page, errors = open_page(browser, token=None)
    page.goto(f"{server.url}/ui/runs/{run['id']}")
    expect(page.get_by_text("1.000e+308").first).to_be_visible()
    expect(page.get_by_text("1.000e+300").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.context.close()
    assert errors == []
