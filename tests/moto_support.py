"""A real S3 HTTP API for the tests: moto's standalone server on 127.0.0.1, started per session.

Without moto (`moto[server]`, in the dev extra) or s3fs (the `s3` extra) the tests that need it
skip with the reason, unless CI is set: there they fail.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from tests.postgres_support import unavailable
from tests.support.processes import free_port

REGION = "us-east-1"  # another region makes bucket creation fail (InvalidLocationConstraint)


@dataclass(frozen=True)
class S3Server:
    """A running moto server: its endpoint and the environment s3fs needs to reach it."""

    endpoint: str

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }

    def new_bucket(self) -> str:
        """A fresh bucket's name (created empty)."""
        name = f"test-{uuid.uuid4().hex[:16]}"
        response = httpx.put(f"{self.endpoint}/{name}", timeout=10)
        response.raise_for_status()
        return name

    def keys(self, bucket: str) -> list[str]:
        """Every object key in the bucket (through the S3 API, not through the code tested)."""
        import xml.etree.ElementTree as ET

        response = httpx.get(f"{self.endpoint}/{bucket}", params={"list-type": "2"}, timeout=10)
        response.raise_for_status()
        namespace = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
        root = ET.fromstring(response.content)
        return sorted(node.text or "" for node in root.findall("s3:Contents/s3:Key", namespace))


@contextlib.contextmanager
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on a free 127.0.0.1 port, stopped afterwards."""
    try:
        import moto.server  # noqa: F401
        import s3fs  # noqa: F401
    except ImportError as exc:
        unavailable(f"S3 tests need moto[server] and s3fs: {exc}")
        raise AssertionError("unreachable") from exc
    for _attempt in range(3):
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        if process.poll() is None and time.monotonic() < deadline:
            try:
                yield S3Server(endpoint)
            finally:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            return
        process.kill()
        process.wait()
    unavailable("moto's S3 server did not start on 127.0.0.1")
