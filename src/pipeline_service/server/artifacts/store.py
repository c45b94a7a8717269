"""The artifact store: the bytes of artifacts, under keys the storage records, in any fsspec file
system — a local directory, `s3://bucket/prefix` (s3fs, the `s3` extra), or another URL fsspec
knows.

Every object lives under `<root>/<run id>/<upload id>/<path>`: a fresh key per upload, so bytes
are never overwritten in place, and an object nobody recorded (an upload that failed half-way)
is never visible through the API. Blocking file-system calls run in worker threads; uploads and
downloads are streamed in chunks, never held in memory whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import fsspec

from pipeline_service.server.errors import PayloadTooLarge, ServiceError, Unprocessable

logger = logging.getLogger("pipeline_service.server")

CHUNK_BYTES = 1024 * 1024


class ArtifactStoreUnavailable(ServiceError):
    """The store cannot be used now (unreachable, full, refusing, or not configured): 503 (with
    the `Retry-After` every 503 gets, errors.error_response)."""

    status_code_default = 503


class DigestMismatch(Unprocessable):
    """The bytes received are not those the client's Content-SHA256 describes."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object written whole: its key, size and SHA-256 (hex)."""

    key: str
    size: int
    sha256: str


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "the artifact store is full"
    message = str(exc) or type(exc).__name__
    return f"the artifact store cannot be used: {type(exc).__name__}: {message[:300]}"


class ArtifactStore:
    """Objects under `root` of the fsspec file system `fs`; `url` names the store in messages."""

    def __init__(self, fs: Any, root: str, url: str) -> None:
        self._fs = fs
        self._root = root.rstrip("/")
        self.url = url
        protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
        self._local = "file" in protocols

    def new_key(self, run_id: str, path: str) -> str:
        """A key no object has yet, for an upload of `path` to run `run_id`."""
        return f"{quote(run_id, safe='')}/{uuid.uuid4().hex}/{path}"

    def run_prefix(self, run_id: str) -> str:
        """The prefix of every key `new_key` makes for run_id."""
        return f"{quote(run_id, safe='')}/"

    def _full(self, key: str) -> str:
        return f"{self._root}/{key}"

    async def write(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        max_bytes: int,
        expected_sha256: str | None = None,
    ) -> StoredObject:
        """Store the chunks under key, hashing as they go. Past `max_bytes` it is
        PayloadTooLarge, a SHA-256 other than `expected_sha256` DigestMismatch, a failing store
        ArtifactStoreUnavailable; then nothing stays under key."""
        try:
            handle = await asyncio.to_thread(self._open_for_write, key)
        except Exception as exc:
            raise ArtifactStoreUnavailable(_describe(exc)) from exc
        digest = hashlib.sha256()
        size = 0
        pending = bytearray()

        def write_pending(data: bytes) -> None:
            digest.update(data)
            handle.write(data)

        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(
                        f"the artifact is larger than {max_bytes} bytes, this server's limit "
                        "(--max-artifact-bytes)"
                    )
                pending += chunk
                if len(pending) >= CHUNK_BYTES:
                    data, pending = bytes(pending), bytearray()
                    await self._io(write_pending, data)
            await self._io(write_pending, bytes(pending))
            await self._io(self._finish, handle)
        except BaseException:
            await asyncio.shield(self._abandon(handle, key))
            raise
        sha256 = digest.hexdigest()
        if expected_sha256 is not None and sha256 != expected_sha256.lower():
            await asyncio.shield(self.delete([key]))
            raise DigestMismatch(
                f"header 'Content-SHA256': the body's SHA-256 is {sha256}, not "
                f"{expected_sha256.lower()} (a truncated or corrupted upload); nothing was kept"
            )
        return StoredObject(key, size, sha256)

    def _open_for_write(self, key: str) -> BinaryIO:
        full = self._full(key)
        if self._local:  # object stores have no directories to make
            self._fs.makedirs(self._fs._parent(full), exist_ok=True)
        handle: BinaryIO = self._fs.open(full, "wb")
        return handle

    def _finish(self, handle: Any) -> None:
        """Close a written object, on disk for good (as a 2xx of the database is) where the file
        system is local; an object store has it whole once the close returns."""
        if self._local:
            handle.flush()
            os.fsync(handle.fileno())
        handle.close()

    @staticmethod
    async def _io(function: Any, *args: Any) -> None:
        try:
            await asyncio.to_thread(function, *args)
        except Exception as exc:
            raise ArtifactStoreUnavailable(_describe(exc)) from exc

    async def _abandon(self, handle: Any, key: str) -> None:
        """Give up a write: abort it where the file system can (an S3 multipart upload), close
        it, and remove whatever reached the store."""

        def abandon() -> None:
            discard = getattr(handle, "discard", None)
            if (
                callable(discard)
                and getattr(handle, "mode", "") == "wb"
                and hasattr(handle, "buffer")
            ):
                with contextlib.suppress(Exception):
                    discard()
                    handle.closed = True
            with contextlib.suppress(Exception):
                handle.close()

        await asyncio.to_thread(abandon)
        await self.delete([key])

    async def open(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes in chunks; the object is opened before this returns (so a missing
        or unreachable object fails here, before any byte is sent)."""
        try:
            handle = await asyncio.to_thread(self._fs.open, self._full(key), "rb")
        except FileNotFoundError as exc:
            raise ArtifactStoreUnavailable(
                "the artifact store lost this artifact's bytes (they are not at their key)"
            ) from exc
        except Exception as exc:
            raise ArtifactStoreUnavailable(_describe(exc)) from exc
        return self._chunks(handle)

    @staticmethod
    async def _chunks(handle: Any) -> AsyncIterator[bytes]:
        try:
            while True:
                chunk: bytes = await asyncio.to_thread(handle.read, CHUNK_BYTES)
                if not chunk:
                    return
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def delete(self, keys: Iterable[str]) -> None:
        """Remove these objects (gone already is fine); a failure is logged, not raised: an
        object nobody records is never visible."""
        for key in keys:
            try:
                await asyncio.to_thread(self._remove, self._full(key))
            except Exception as exc:
                logger.warning("could not remove artifact object %s: %s", key, exc)

    def _remove(self, full: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._fs.rm_file(full)

    async def keys_under(self, prefix: str) -> list[str]:
        """Every object key starting with prefix (a run's prefix), for cleaning up."""

        def find() -> list[str]:
            base = self._full(prefix.rstrip("/"))
            try:
                found: list[str] = self._fs.find(base)
            except FileNotFoundError:
                return []
            root = self._fs._strip_protocol(self._root).rstrip("/")
            return [path[len(root) + 1 :] for path in found if path.startswith(root + "/")]

        try:
            return await asyncio.to_thread(find)
        except Exception as exc:
            logger.warning("could not list artifact objects under %s: %s", prefix, exc)
            return []


def open_artifact_store(url: str) -> ArtifactStore:
    """The store an `--artifacts` value names: a directory path, `file://…`, `s3://bucket/prefix`
    (needs the `s3` extra: pip install 'pipeline-service[s3]') or any URL fsspec knows.
    ValueError with a readable message when fsspec cannot open it."""
    try:
        fs, root = fsspec.core.url_to_fs(url, skip_instance_cache=True)
    except ImportError as exc:
        hint = " (pip install 'pipeline-service[s3]')" if url.startswith("s3") else ""
        raise ValueError(f"cannot open the artifact store {url!r}: {exc}{hint}") from exc
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cannot open the artifact store {url!r}: {exc}") from exc
    store = ArtifactStore(fs, root, url)
    if store._local:
        try:
            Path(root).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"cannot open the artifact store {url!r}: {exc}") from exc
    return store
