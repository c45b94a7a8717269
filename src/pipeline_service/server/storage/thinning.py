"""Thinning a series to a bound: which of its points stay.

The points of a series are numbered 1, 2, 3… (seq). At stride k, kept are the first point, the
newest, and every point whose seq is 1 + a multiple of k; the stride doubles whenever the series
would grow past its bound, so a series of any length stays evenly spread over its whole span.
"""

from __future__ import annotations


def is_kept(seq: int, stride: int) -> bool:
    """Whether the point numbered seq stays once it is no longer the newest."""
    return (seq - 1) % stride == 0


def kept_count(recorded: int, stride: int) -> int:
    """How many points a series of `recorded` points keeps at stride: the points 1, 1 + k,
    1 + 2k… and the newest."""
    if recorded == 0:
        return 0
    return (recorded - 1) // stride + 1 + (0 if is_kept(recorded, stride) else 1)
