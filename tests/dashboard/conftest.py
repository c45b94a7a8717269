"""Fixtures of the browser tests: `pipeline-service serve` with workers, and headless Chromium.

Chromium is the system's (Playwright cannot download browsers here). Without it, or without
Playwright, the tests skip with one line; with CI set, they fail instead.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from pipeline_service import PipelineServiceClient
from tests.support.processes import lines_of, wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = os.environ.get("PIPELINE_SERVICE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "dashboard-test-token"
TOKEN_KEY = "pipeline-service-token"
STARTUP_TIMEOUT = 60


def missing(reason: str, *, module: bool = False) -> NoReturn:
    """Skip, or fail when CI is set (there the browser tests are mandatory)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required when CI is set)", pytrace=False)
    pytest.skip(reason, allow_module_level=module)


@dataclass
class Service:
    url: str
    token: str

    def client(self) -> PipelineServiceClient:
        return PipelineServiceClient(self.url, token=self.token, timeout=30)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`pipeline-service serve` with two workers and a token, on a free port of 127.0.0.1."""
    home = tmp_path_factory.mktemp("dashboard-service")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_SERVICE_")}
    env["TMPDIR"] = str(home)  # the runs' work directories
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline_service", "serve", "--port", "0",
         "--db", str(home / "service.db"), "--token", TOKEN, "--workers", "2",
         "--log-level", "warning"],
        cwd=home,  # the bundled example plugin is found without help
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    lines = lines_of(process.stderr)  # the pipe is closed at its end
    try:
        url = None
        while url is None:
            line = lines.get(timeout=STARTUP_TIMEOUT)
            match = re.search(r"dashboard at (http://\S+)/$", line.strip())
            url = match.group(1) if match else None
        yield Service(url, TOKEN)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        wait_until(lambda: process.stderr is None or process.stderr.closed, 30, "stderr's end")


# Module scope, not session: Playwright's sync API keeps an event loop running in this thread
# while it is open, and asyncio.run() in later test modules would refuse to start.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install -e '.[dev]')")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        except Error as error:
            missing(f"Chromium at {CHROMIUM} does not start: {error.message.splitlines()[0]}")
        yield launched
        launched.close()


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Where screenshots go: $PIPELINE_SERVICE_TEST_ARTIFACTS, else the test's tmp_path."""
    configured = os.environ.get("PIPELINE_SERVICE_TEST_ARTIFACTS")
    directory = Path(configured) if configured else tmp_path
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def open_page(browser: Browser, *, token: str | None, **context: Any) -> tuple[Page, list[str]]:
    """A page in a fresh context (token pre-stored unless None) and the list of its JS errors."""
    options: dict[str, Any] = {"viewport": {"width": 1280, "height": 1240}, **context}
    ctx = browser.new_context(**options)
    ctx.set_default_timeout(90_000)
    if token is not None:
        ctx.add_init_script(f"sessionStorage.setItem({TOKEN_KEY!r}, {token!r})")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


@pytest.fixture
def page(browser: Browser, service: Service) -> Iterator[Page]:
    """A 1280×1240 light page that already holds the token; fails the test on a JS error."""
    page, errors = open_page(browser, token=service.token, color_scheme="light")
    yield page
    page.context.close()
    assert errors == []
