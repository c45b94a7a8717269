"""UTC timestamps: parsing RFC 3339 input (offset-less is UTC) and formatting output."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<hms>\d{2}:\d{2}):(?P<sec>\d{2})"
    r"(?:[.,](?P<frac>\d+))?(?P<offset>[Zz]|[+-]\d{2}:?\d{2})?"
)
_MIN = datetime.min.replace(tzinfo=UTC)
_MAX = datetime.max.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def parse_timestamp(value: str) -> datetime:
    """Parse an RFC 3339 date-time; an offset-less value is UTC. Raises ValueError."""
    match = _RFC3339.fullmatch(value.strip())
    if match is None:
        raise ValueError("not an RFC 3339 date-time (expected e.g. 2026-01-01T12:00:00Z)")
    sec = match["sec"]
    frac = (match["frac"] or "0")[:6].ljust(6, "0")
    leap = sec == "60"
    if leap:  # a leap second: the last representable instant of that minute
        sec, frac = "59", "999999"
    offset = match["offset"] or "+00:00"
    if offset in ("Z", "z"):
        offset = "+00:00"
    elif ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    parsed = datetime.fromisoformat(f"{match['date']}T{match['hms']}:{sec}.{frac}{offset}")
    offset_delta = parsed.utcoffset() or timedelta(0)
    if abs(offset_delta) >= timedelta(days=1):
        raise ValueError("UTC offset out of range")
    naive = parsed.replace(tzinfo=None)
    try:
        return (naive - offset_delta).replace(tzinfo=UTC)
    except OverflowError:
        return _MIN if offset_delta > timedelta(0) else _MAX


def format_timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with microseconds and `Z` (fixed width, so strings sort by time)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def now_text() -> str:
    """The current time, formatted by format_timestamp."""
    return format_timestamp(utcnow())


def normalize_timestamp(value: str) -> str:
    """An input timestamp in the server's output form. Raises ValueError."""
    return format_timestamp(parse_timestamp(value))
