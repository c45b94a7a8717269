"""The client's Server-Sent Events decoder, against streams cut at every possible place."""

from __future__ import annotations

from pipeline_service._sse import SSEDecoder

STREAM = (
    ": a comment\r\n"
    "retry: 1500\r\n"
    "id: 7\r\n"
    "event: progress\r\n"
    'data: {"a": 1}\r\n'
    "data: second line\r\n"
    "\r\n"
    "data:no space\n"
    "unknown: field\n"
    "\n"
    "event: end\r"
    "data: x\r"
    "\r"
    "id: bad\0id\n"
    "retry: soon\n"
    "data: last\n"
    "\n"
    "data: never dispatched"
)


def decode(chunks: list[str]) -> list[tuple[str, str, str, int | None]]:
    decoder = SSEDecoder()
    return [(e.event, e.data, e.id, e.retry) for chunk in chunks for e in decoder.feed(chunk)]


def test_events_fields_and_line_ends() -> None:
    assert decode([STREAM]) == [
        ("progress", '{"a": 1}\nsecond line', "7", 1500),
        ("message", "no space", "7", None),
        ("end", "x", "7", None),
        ("message", "last", "7", None),
    ]


def test_any_cut_of_the_text_gives_the_same_events() -> None:
    whole = decode([STREAM])
    for cut in range(len(STREAM) + 1):
        assert decode([STREAM[:cut], STREAM[cut:]]) == whole, cut
    assert decode(list(STREAM)) == whole


def test_a_crlf_split_across_chunks_is_one_line_end() -> None:
    assert decode(["data: a\r", "\n", "\r", "\n"]) == [("message", "a", "", None)]


def test_comments_are_counted_not_dispatched() -> None:
    """A heartbeat is a comment line: no event, but the stream loop sees that one arrived."""
    decoder = SSEDecoder()
    assert decoder.feed(": ping\n\n: pi") == []
    assert decoder.comments == 1
    assert decoder.feed("ng\n") == []
    assert decoder.comments == 2
    assert decoder.feed("data: x\n\n")[0].data == "x"
    assert decoder.comments == 2
