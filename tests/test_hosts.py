"""The host names the server and the conformance kit compare (`pipeline_service._hosts`)."""

from __future__ import annotations

import pytest

from pipeline_service._hosts import is_loopback, normalize_host


@pytest.mark.parametrize(
    ("name", "normalized"),
    [("LocalHost.", "localhost"), ("[::1]", "::1"), (" Example.COM ", "example.com"), ("", "")],
)
def test_names_are_compared_normalized(name: str, normalized: str) -> None:
    assert normalize_host(name) == normalized


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST.", "127.0.0.1", "127.8.9.10", "::1", "[::1]"]
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["", "10.1.2.3", "0.0.0.0", "::", "2001:db8::1", "name.invalid"])
def test_hosts_reached_from_elsewhere_or_nowhere_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)
