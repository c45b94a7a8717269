"""Local files for artifact uploads and downloads: hashing and reading them in chunks, writing
a download so that the file appears only once it is whole. Each has a blocking and an async
spelling, so that the async client and its generated twin read the same."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import BinaryIO

import anyio

CHUNK_BYTES = 1024 * 1024


def file_sha256(path: Path) -> str:
    """The SHA-256 (hex) of a local file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


async def afile_sha256(path: Path) -> str:
    """file_sha256 in a worker thread."""
    return await anyio.to_thread.run_sync(file_sha256, path)


def read_chunks(path: Path) -> Iterator[bytes]:
    """A local file's bytes in chunks (a streamed request body)."""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk


async def aread_chunks(path: Path) -> AsyncIterator[bytes]:
    """A local file's bytes in chunks, read in worker threads (a streamed request body)."""
    async with await anyio.open_file(path, "rb") as handle:
        while chunk := await handle.read(CHUNK_BYTES):
            yield chunk


class PartialFile:
    """A download's destination: written as `<name>.partial` beside it, moved into place by
    `commit()`; removed if the download does not complete."""

    def __init__(self, destination: Path) -> None:
        self.destination = destination
        self.partial = destination.with_name(destination.name + ".partial")
        self.digest = hashlib.sha256()
        self.size = 0
        destination.parent.mkdir(parents=True, exist_ok=True)
        self._handle: BinaryIO = self.partial.open("wb")

    def write(self, chunk: bytes) -> None:
        """Append a chunk (and hash it)."""
        self.digest.update(chunk)
        self.size += len(chunk)
        self._handle.write(chunk)

    def commit(self) -> Path:
        """The whole file, in place."""
        self._handle.close()
        os.replace(self.partial, self.destination)
        return self.destination

    def discard(self) -> None:
        """Forget what was written."""
        self._handle.close()
        with contextlib.suppress(FileNotFoundError):
            self.partial.unlink()
