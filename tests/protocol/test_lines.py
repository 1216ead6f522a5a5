"""LineReader: CRLF/LF splitting and the bounded-buffer countermeasures."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lanchat.protocol.lines import TOO_LONG, LineReader


def test_lines_split_on_crlf_and_bare_lf() -> None:
    reader = LineReader()
    assert reader.feed(b"NICK a\r\nUSER a 0 * :A\nPING x\r\n") == [
        b"NICK a",
        b"USER a 0 * :A",
        b"PING x",
    ]


def test_partial_line_waits_for_its_terminator() -> None:
    reader = LineReader()
    assert reader.feed(b"PRIV") == []
    assert reader.feed(b"MSG #a :hi") == []
    assert reader.feed(b"\r\n") == [b"PRIVMSG #a :hi"]


def test_empty_lines_are_dropped() -> None:
    assert LineReader().feed(b"\r\n\n\r\nPING x\r\n") == [b"PING x"]


def test_line_over_limit_becomes_one_too_long_marker() -> None:
    reader = LineReader(max_bytes=10)
    assert reader.feed(b"x" * 11 + b"\r\nPING y\r\n") == [TOO_LONG, b"PING y"]


def test_unterminated_line_countermeasure() -> None:
    """A peer that never sends LF costs at most max_bytes of buffer, and one marker."""
    reader = LineReader(max_bytes=100)
    out = []
    for _ in range(1000):
        out += reader.feed(b"y" * 50)
        assert len(reader._buf) <= 100
    assert out == [TOO_LONG]
    assert reader.feed(b"tail of the long line\r\nPING z\r\n") == [b"PING z"]


def test_long_unterminated_tail_after_a_good_line_is_discarded() -> None:
    reader = LineReader(max_bytes=10)
    assert reader.feed(b"PING a\r\n" + b"z" * 20) == [b"PING a", TOO_LONG]
    assert reader.feed(b"zz\r\nPING b\r\n") == [b"PING b"]


def test_line_exactly_at_limit_is_accepted() -> None:
    reader = LineReader(max_bytes=10)
    assert reader.feed(b"x" * 10 + b"\r\n") == [b"x" * 10]


def test_too_long_marker_reads_well_in_failures() -> None:
    assert repr(TOO_LONG) == "TOO_LONG"


@given(st.lists(st.binary(max_size=40), max_size=20))
def test_chunking_never_changes_the_lines(chunks: list[bytes]) -> None:
    data = b"".join(chunks)
    whole = LineReader(max_bytes=64).feed(data)
    pieces = LineReader(max_bytes=64)
    got = []
    for chunk in chunks:
        got += pieces.feed(chunk)
    assert got == whole
