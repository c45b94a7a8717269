"""Artifact paths: relative, normalised, and never able to leave their run."""

from __future__ import annotations

import re

from pipeline_service.server.errors import Unprocessable

MAX_ARTIFACT_PATH = 1024
MAX_ARTIFACT_SEGMENT = 255

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def normalise_artifact_path(raw: str, where: str = "path parameter 'path'") -> str:
    """The normalised form of an artifact path (`.` and empty segments dropped), or
    Unprocessable (naming `where` it came from) saying why it is refused: absolute, `..`, a
    drive letter, a backslash, NUL or another control character, empty, or too long."""

    def refuse(reason: str) -> Unprocessable:
        shown = raw if len(raw) <= 80 else raw[:77] + "..."
        return Unprocessable(f"{where}: {shown!r} {reason}")

    if _CONTROL.search(raw):
        raise refuse("contains NUL or another control character")
    if "\\" in raw:
        raise refuse("contains a backslash; separate segments with '/'")
    if raw.startswith("/"):
        raise refuse("is absolute; an artifact path is relative to its run")
    segments = [segment for segment in raw.split("/") if segment not in ("", ".")]
    if ".." in segments:
        raise refuse("contains '..'; an artifact path cannot leave its run")
    if segments and _DRIVE.match(segments[0]):
        raise refuse("starts with a drive letter; an artifact path is relative to its run")
    if not segments:
        raise refuse("names no file")
    for segment in segments:
        if len(segment) > MAX_ARTIFACT_SEGMENT:
            raise refuse(f"has a segment longer than {MAX_ARTIFACT_SEGMENT} characters")
    path = "/".join(segments)
    if len(path) > MAX_ARTIFACT_PATH:
        raise refuse(f"is longer than {MAX_ARTIFACT_PATH} characters")
    return path
