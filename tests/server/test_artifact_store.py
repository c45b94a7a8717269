"""The artifact store on its own: a directory, and S3 through s3fs against moto's real S3 API."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline_service.server.artifacts import (
    ArtifactStore,
    ArtifactStoreUnavailable,
    DigestMismatch,
    normalise_artifact_path,
    open_artifact_store,
)
from pipeline_service.server.errors import PayloadTooLarge, Unprocessable
from pipeline_service.server.settings import Settings
from tests.moto_support import S3Server


@pytest.fixture(params=["directory", pytest.param("s3", marks=pytest.mark.slow)])
def store_and_listing(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[ArtifactStore, Any]]:
    """A store and a function listing every object key it holds, read around the store."""
    if request.param == "directory":
        root = tmp_path / "artifacts"
        store = open_artifact_store(str(root))

        def listing() -> list[str]:
            return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

        yield store, listing
    else:
        bucket = request.getfixturevalue("s3_bucket")
        s3: S3Server = request.getfixturevalue("s3")
        store = open_artifact_store(f"s3://{bucket}/prefix")

        def listing() -> list[str]:
            return [key.removeprefix("prefix/") for key in s3.keys(bucket)]

        yield store, listing


async def chunks_of(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read_all(store: ArtifactStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in await store.open(key)])


def test_an_object_round_trips_streamed_with_its_size_and_sha256(store_and_listing) -> None:
    store, listing = store_and_listing
    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one write chunk, not a multiple of it
    key = store.new_key("run-1", "train/step-3/model.bin")

    async def scenario() -> bytes:
        stored = await store.write(key, chunks_of(data), max_bytes=len(data))
        assert stored.size == len(data)
        assert stored.sha256 == hashlib.sha256(data).hexdigest()
        return await read_all(store, key)

    assert asyncio.run(scenario()) == data
    assert listing() == [key]
    assert key.startswith("run-1/")
    assert key.endswith("/train/step-3/model.bin")


def test_each_upload_gets_a_key_of_its_own(store_and_listing) -> None:
    store, _ = store_and_listing
    assert store.new_key("r", "a") != store.new_key("r", "a")
    assert store.new_key("r/../x", "a").startswith("r%2F..%2Fx/")  # a run id stays one segment


def test_past_the_size_limit_nothing_is_kept(store_and_listing) -> None:
    store, listing = store_and_listing
    data = os.urandom(2 * 1024 * 1024)
    key = store.new_key("run-1", "big.bin")
    with pytest.raises(PayloadTooLarge, match="larger than 1048576 bytes"):
        asyncio.run(store.write(key, chunks_of(data), max_bytes=1024 * 1024))
    assert listing() == []


def test_bytes_that_do_not_match_their_sha256_are_not_kept(store_and_listing) -> None:
    store, listing = store_and_listing
    key = store.new_key("run-1", "a.txt")
    with pytest.raises(DigestMismatch, match="truncated or corrupted"):
        asyncio.run(store.write(key, chunks_of(b"hello"), max_bytes=100, expected_sha256="0" * 64))
    assert listing() == []
    good = hashlib.sha256(b"hello").hexdigest().upper()  # hex in either case
    stored = asyncio.run(store.write(key, chunks_of(b"hello"), max_bytes=100, expected_sha256=good))
    assert stored.sha256 == good.lower()


def test_a_failing_client_stream_leaves_nothing(store_and_listing) -> None:
    store, listing = store_and_listing
    key = store.new_key("run-1", "a.bin")

    async def broken() -> AsyncIterator[bytes]:
        yield os.urandom(2 * 1024 * 1024)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        asyncio.run(store.write(key, broken(), max_bytes=10**9))
    assert listing() == []


def test_delete_and_keys_under_a_run(store_and_listing) -> None:
    store, listing = store_and_listing

    async def scenario() -> None:
        keys = [store.new_key("run-1", f"f{i}") for i in range(3)]
        other = store.new_key("run-2", "f0")
        for key in [*keys, other]:
            await store.write(key, chunks_of(b"x"), max_bytes=10)
        assert sorted(await store.keys_under(store.run_prefix("run-1"))) == sorted(keys)
        await store.delete([keys[0], keys[0], "run-1/never/was"])  # gone already: fine
        assert sorted(await store.keys_under(store.run_prefix("run-1"))) == sorted(keys[1:])
        assert await store.keys_under(store.run_prefix("run-3")) == []

    asyncio.run(scenario())
    assert len(listing()) == 3


def test_an_object_whose_bytes_are_gone_is_a_503(store_and_listing) -> None:
    store, _ = store_and_listing
    with pytest.raises(ArtifactStoreUnavailable, match="lost this artifact's bytes"):
        asyncio.run(store.open(store.new_key("run-1", "missing")))


@pytest.mark.slow
def test_an_unreachable_s3_endpoint_is_a_503(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("s3fs", reason="the s3 extra is not installed")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on port 9
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    store = open_artifact_store("s3://bucket/prefix")
    with pytest.raises(ArtifactStoreUnavailable, match="cannot be used: EndpointConnectionError"):
        asyncio.run(store.write(store.new_key("r", "a"), chunks_of(b"abc"), max_bytes=10))
    with pytest.raises(ArtifactStoreUnavailable, match="cannot be used"):
        asyncio.run(store.open(store.new_key("r", "a")))


def test_a_directory_store_that_cannot_be_written_is_a_503(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    store = open_artifact_store(str(root))
    root.rmdir()
    root.write_text("a file where the store's directory was")
    with pytest.raises(ArtifactStoreUnavailable, match="cannot be used"):
        asyncio.run(store.write(store.new_key("r", "a"), chunks_of(b"abc"), max_bytes=10))


class _FullDisk:
    """A local file system whose disk fills up after the first write (ENOSPC cannot be had
    for real without mounting a small file system)."""

    def __init__(self, fs: Any) -> None:
        self._fs = fs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fs, name)

    def open(self, path: str, mode: str) -> Any:
        handle = self._fs.open(path, mode)
        real_write = handle.write

        def write(data: bytes) -> int:
            real_write(data)
            raise OSError(errno.ENOSPC, "No space left on device")

        handle.write = write
        return handle


def test_a_full_store_is_a_503_saying_so_and_keeps_nothing(tmp_path: Path) -> None:
    import fsspec

    root = tmp_path / "artifacts"
    root.mkdir()
    store = ArtifactStore(_FullDisk(fsspec.filesystem("file")), str(root), str(root))
    with pytest.raises(ArtifactStoreUnavailable, match="the artifact store is full"):
        asyncio.run(store.write(store.new_key("r", "a"), chunks_of(b"abc"), max_bytes=10))
    assert [p for p in root.rglob("*") if p.is_file()] == []


def test_an_unknown_url_is_refused_with_a_message() -> None:
    with pytest.raises(ValueError, match="cannot open the artifact store 'nosuch://x'"):
        open_artifact_store("nosuch://x")


def test_the_default_store_is_next_to_the_sqlite_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PIPELINE_SERVICE_ARTIFACTS", raising=False)
    next_to_db = Settings(db_path=tmp_path / "jobs.db").artifacts_url()
    assert next_to_db == str(tmp_path / "jobs-artifacts")
    assert Settings(db_path="postgresql://u@h/db").artifacts_url() is None
    given = Settings(db_path="postgresql://u@h/db", artifacts="s3://b/p")
    assert given.artifacts_url() == "s3://b/p"
    monkeypatch.setenv("PIPELINE_SERVICE_ARTIFACTS", str(tmp_path / "elsewhere"))
    assert Settings(db_path=tmp_path / "jobs.db").artifacts_url() == str(tmp_path / "elsewhere")


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("model.pt", "model.pt"),
        ("train/step-3/model.pt", "train/step-3/model.pt"),
        ("./a//b/./c", "a/b/c"),
        ("a/b/", "a/b"),
        ("ünïcode/名前.bin", "ünïcode/名前.bin"),
        ("a..b/..c", "a..b/..c"),
    ],
)
def test_paths_are_normalised(raw: str, normal: str) -> None:
    assert normalise_artifact_path(raw) == normal


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("../x", "'..'"),
        ("a/../../x", "'..'"),
        ("/etc/passwd", "absolute"),
        ("C:/x", "drive letter"),
        ("a\\b", "backslash"),
        ("a\x00b", "NUL"),
        ("a\nb", "control character"),
        ("", "names no file"),
        ("./", "names no file"),
        ("a/" + "x" * 256, "segment longer than 255"),
        ("/".join(["abcdefgh"] * 120), "longer than 1024"),
    ],
)
def test_paths_that_escape_or_are_malformed_are_refused(raw: str, reason: str) -> None:
    with pytest.raises(Unprocessable, match=reason):
        normalise_artifact_path(raw)
