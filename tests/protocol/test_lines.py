"""LineReader: CRLF/LF splitting and the bounded-buffer countermeasures."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lanchat.protocol.lines import MAX_BODY_BYTES, MAX_TAGS_BYTES, TOO_LONG, LineLimits, LineReader
from lanchat.protocol.tags import MAX_CLIENT_TAG_BYTES


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


def test_named_limits_are_the_specs() -> None:
    # modern.ircdocs "Message format" (512 with CR LF) and ircv3 message-tags "Size limit".
    assert (MAX_BODY_BYTES, MAX_TAGS_BYTES, MAX_CLIENT_TAG_BYTES) == (510, 8191, 4094)
    assert LineLimits().max_line_bytes == 510 + 8191


def test_body_over_510_bytes_countermeasure() -> None:
    limits = LineLimits()
    assert limits.check(b"P" * 510) == b"P" * 510
    assert limits.check(b"P" * 511) is TOO_LONG
    tagged = b"@a=b " + b"P" * 510  # tags do not count towards the body's 510
    assert limits.check(tagged) == tagged


def test_client_tags_over_4094_bytes_countermeasure() -> None:
    limits = LineLimits()
    at_limit = b"@+k=" + b"v" * 4091 + b" PING x"  # 4094 bytes between '@' and the space
    assert limits.check(at_limit) == at_limit
    assert limits.check(b"@+k=" + b"v" * 4092 + b" PING x") is TOO_LONG


def test_tags_over_8191_bytes_countermeasure() -> None:
    limits = LineLimits(max_client_tag_bytes=10_000)  # only the whole-section limit left
    assert limits.check(b"@+k=" + b"v" * 8186 + b" PING x") != TOO_LONG  # 8191 with '@', ' '
    assert limits.check(b"@+k=" + b"v" * 8187 + b" PING x") is TOO_LONG


def test_reader_with_limits_reports_each_over_limit_line_by_one_marker() -> None:
    reader = LineReader(limits=LineLimits())
    assert reader.max_bytes == 510 + 8191
    data = b"P" * 511 + b"\r\n@+k=" + b"v" * 4092 + b" PING x\r\nPING y\r\n"
    assert reader.feed(data) == [TOO_LONG, TOO_LONG, b"PING y"]


def test_reader_without_limits_holds_only_its_buffer_bound() -> None:
    # A client reading a server: server lines carry up to 8191 bytes of tags.
    line = b"@+k=" + b"v" * 8000 + b" PING x"
    assert LineReader().feed(line + b"\r\n") == [line]
