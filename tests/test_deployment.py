"""The nginx configuration of docs/guides/deployment.md, run as written in front of a real server:
TLS, the token, a live progress stream and a large upload go through it."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pipeline_service import PipelineServiceClient
from pipeline_service.server import EmbeddedServer
from tests.postgres_support import unavailable
from tests.sample import ACTIONS, unique

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "guides" / "deployment.md"
TOKEN = "deployment-test-token"

pytestmark = pytest.mark.slow


def documented_config() -> str:
    guide = GUIDE.read_text(encoding="utf-8")
    start = guide.index("```nginx\n") + len("```nginx\n")
    return guide[start : guide.index("```\n", start)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        assert process.poll() is None, "nginx exited at start"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nginx does not listen on {port}")


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[str, ssl.SSLContext]]:
    """The documented nginx in front of a server with a token: (its https URL, a context
    trusting its certificate)."""
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if nginx is None or shutil.which("openssl") is None:
        unavailable("nginx or openssl is not installed (apt-get install nginx-light openssl)")
    assert nginx is not None
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    with EmbeddedServer(tmp_path / "pipelines.db", token=TOKEN) as server:
        upstream = server.url.removeprefix("http://")
        config = (
            documented_config()
            .replace("/tmp/tls", str(tmp_path))
            .replace("127.0.0.1:8100", upstream)
            .replace("127.0.0.1:8443", f"127.0.0.1:{port}")
        )
        (tmp_path / "nginx.conf").write_text(config, encoding="utf-8")
        process = subprocess.Popen(
            [
                *(nginx, "-e", str(tmp_path / "error.log")),
                *("-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, process, time.monotonic() + 30)
            yield (
                f"https://localhost:{port}",
                ssl.create_default_context(cafile=str(tmp_path / "cert.pem")),
            )
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_the_documented_proxy_carries_the_api(
    proxy: tuple[str, ssl.SSLContext], tmp_path: Path
) -> None:
    url, tls = proxy
    assert httpx.get(f"{url}/health", verify=tls).json()["status"] == "healthy"
    assert httpx.get(f"{url}/api/v1/pipelines/", verify=tls).status_code == 401

    with (
        httpx.Client(base_url=url, verify=tls, timeout=60) as http,
        PipelineServiceClient(url, token=TOKEN, http_client=http) as client,
    ):
        pipeline = client.create_pipeline(unique("proxied"), ACTIONS)
        run = client.create_run(pipeline["id"])
        # A progress stream through the proxy delivers each state while the run goes on.
        seen: list[str] = []
        running = threading.Event()

        def follow() -> None:
            for progress in client.stream_progress(run["id"], timeout=60):
                seen.append(str(progress.status))
                if progress.status == "running":
                    running.set()

        follower = threading.Thread(target=follow)
        follower.start()
        client.update_run(run["id"], status="running")
        assert running.wait(timeout=60), seen
        client.update_run(run["id"], status="completed")
        follower.join(timeout=60)
        assert seen[-1] == "completed"

        # An upload past nginx's default 1 MiB body limit goes through, and comes back whole.
        data = bytes(range(256)) * 20_000  # 5 MB
        stored = client.upload_artifact(run["id"], "model/weights.bin", data)
        assert stored["size"] == len(data)
        copy = client.download_artifact(run["id"], "model/weights.bin", tmp_path / "copy.bin")
        assert copy.read_bytes() == data
