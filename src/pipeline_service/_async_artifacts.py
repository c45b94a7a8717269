"""AsyncArtifactMethods: the async client's artifact operations (a base class of the client).

The source of its blocking twin: `_sync_artifacts.py` is generated from this file by
scripts/unasync.py.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import anyio
import httpx

from . import _operations as ops
from ._async_request import AsyncRequester
from ._files import PartialFile, afile_sha256, aread_chunks
from ._request import Call, build_request, connection_error
from .errors import APIResponseValidationError, PipelineServiceError, status_error_from_response
from .types import Artifact

__all__ = ["AsyncArtifactMethods"]

Source = bytes | str | os.PathLike[str]


class AsyncArtifactMethods:
    """List, upload and download the files a run keeps in the server's artifact store."""

    _requester: AsyncRequester

    async def list_artifacts(self, run_id: str, *, timeout: float | None = None) -> list[Artifact]:
        """The run's artifacts (path, size, sha256, action, step, checkpoint), by path."""
        return await self._requester.request(ops.list_artifacts(run_id), timeout=timeout)

    async def upload_artifact(
        self,
        run_id: str,
        path: str,
        source: Source,
        *,
        action_name: str | None = None,
        step: int | None = None,
        sha256: str | None = None,
        lease_token: int | None = None,
        timeout: float | None = None,
    ) -> Artifact:
        """Store a file of the run at `path` (relative, `/`-separated) and return its record.

        `source` is the bytes, or the path of a local file (streamed, never read into memory
        whole). Its SHA-256 (computed unless `sha256` gives it) goes along, so bytes that
        arrive damaged are refused; sending the same bytes again changes nothing, so the upload
        is retried like any safe request.
        """
        if isinstance(source, bytes):
            data = source
            sha256 = sha256 or hashlib.sha256(data).hexdigest()

            def content() -> object:
                return data

        else:
            file = Path(source)
            if sha256 is None:  # FileNotFoundError when there is no such file
                sha256 = await afile_sha256(file)

            def content() -> object:
                return aread_chunks(file)

        call = ops.upload_artifact(
            run_id,
            path,
            content=content,
            sha256=sha256,
            action_name=action_name,
            step=step,
            lease_token=lease_token,
        )
        return await self._requester.request(call, timeout=timeout)

    async def download_artifact(
        self,
        run_id: str,
        path: str,
        destination: str | os.PathLike[str],
        *,
        timeout: float | None = None,
    ) -> Path:
        """Download an artifact into the file `destination` (its directory is created) and
        return that path. Streamed; the file appears only once whole, its SHA-256 checked
        against the server's (APIResponseValidationError when they differ)."""
        requester = self._requester
        kwargs = ops.download_artifact_kwargs(run_id, path)
        call: Call[None] = Call(kwargs, lambda response: None)
        target = Path(destination)
        attempt = 0
        while True:
            request = build_request(
                requester.http,
                requester.config,
                kwargs,
                timeout=requester.config.httpx_timeout(timeout),
            )
            response: httpx.Response | None = None
            answer: httpx.Response | None = None  # an error status (not a broken connection)
            error: PipelineServiceError
            try:
                response = await requester.http.send(request, stream=True)
                if response.is_success:
                    return await _receive(response, target)
                await response.aread()
                answer = response
                error = status_error_from_response(response)
            except httpx.TransportError as exc:
                error = connection_error(exc, request)
            finally:
                if response is not None:
                    await response.aclose()
            retries = requester.config.max_retries
            delay = requester.next_step(call, attempt, retries, answer, error)
            if delay is None:
                raise error
            await anyio.sleep(delay)
            attempt += 1


async def _receive(response: httpx.Response, target: Path) -> Path:
    """Write a download's body into target, whole or not at all."""
    partial = PartialFile(target)
    try:
        async for chunk in response.aiter_bytes():
            partial.write(chunk)
        expected = response.headers.get("content-sha256")
        actual = partial.digest.hexdigest()
        if expected is not None and expected.lower() != actual:
            raise APIResponseValidationError(
                f"the bytes of {response.request.url} have SHA-256 {actual}, not {expected} "
                "as the server says; nothing was written",
                response=response,
            )
    except BaseException:
        partial.discard()
        raise
    return partial.commit()
