"""Real Ray for the tests: the session moves into a network namespace with only loopback, and
one Ray head serves every test of the run.

Ray registers every local address it finds, so on a machine with other interfaces its parts
would listen and report those. Before any test runs (when this package's conftest is
collected, while the process has one thread) the process enters a network namespace of its own
with only `lo` up — what `unshare --net` and `ip link set lo up` do — so every server, Ray
and PostgreSQL included, uses 127.0.0.1. That needs root; where it cannot be done the Ray tests
skip with the reason (and fail when CI is set).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

CLONE_NEWNET = 0x40000000
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
HEAD_RESOURCES = '{"licence": 1}'
_ENTERED = "PIPELINE_SERVICE_TEST_LOOPBACK_NETNS"


def enter_loopback_namespace() -> str | None:
    """Move this process into a new network namespace with loopback up; None when done (or
    done before), else why it cannot be."""
    if os.environ.get(_ENTERED) == str(os.getpid()):
        return None
    if not sys.platform.startswith("linux"):
        return "Ray tests need a Linux network namespace"
    if os.geteuid() != 0:
        return "Ray tests need root for a network namespace with only loopback (unshare --net)"
    ip = shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin")
    if ip is None:
        return "Ray tests need `ip` (iproute2) to bring loopback up in their network namespace"
    if threading.active_count() > 1:
        return "Ray tests must be collected before any thread starts (network namespace)"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        return f"unshare(CLONE_NEWNET) failed: {os.strerror(ctypes.get_errno())}"
    subprocess.run([ip, "link", "set", "lo", "up"], check=True)
    os.environ[_ENTERED] = str(os.getpid())
    return None


def ray_missing() -> str | None:
    try:
        import ray  # noqa: F401
    except ImportError:
        return "Ray is not installed (pip install 'pipeline-service[ray]')"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def ray_head(log_dir: Path) -> Iterator[str]:
    """`ray start --head --block` as a child in its own process group; yields its address and
    stops the group afterwards (never `ray stop`: it kills every Ray process of the machine)."""
    port = _free_port()
    temp_dir = tempfile.mkdtemp(prefix="psray-", dir="/tmp")  # socket paths must stay short
    log = log_dir / "ray-head.log"
    ray = str(Path(sys.executable).with_name("ray"))
    command = [
        ray, "start", "--head", "--block", "--port", str(port), "--node-ip-address", "127.0.0.1",
        "--num-cpus", "4", "--resources", HEAD_RESOURCES, "--include-dashboard", "false",
        "--temp-dir", temp_dir, "--disable-usage-stats",
    ]  # fmt: skip
    with log.open("wb") as out:
        head = subprocess.Popen(
            command,
            env={**os.environ, **RAY_ENV},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in log.read_text(errors="replace"):
            if head.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Ray head did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        _stop_group(head)
        shutil.rmtree(temp_dir, ignore_errors=True)
