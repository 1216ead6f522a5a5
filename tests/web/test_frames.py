"""IRC lines as WebSocket frames, by plain function calls (lanchat.web.frames).

Spec: RFC 6455 5.2 (base framing: FIN, opcode, 7/16/64-bit lengths, no mask from a server);
https://ircv3.net/specs/extensions/websocket (one line per message, no CRLF).
"""

from __future__ import annotations

import struct

import pytest

from lanchat.web.frames import FrameCache, close_frame, frame_lines


def test_each_line_is_one_final_text_frame_without_its_crlf() -> None:
    assert frame_lines(b"PING :a\r\nPONG :b\r\n", binary=False) == (
        b"\x81\x07PING :a" + b"\x81\x07PONG :b"
    )


def test_binary_subprotocol_gets_binary_frames() -> None:
    assert frame_lines(b"PING :a\r\n", binary=True) == b"\x82\x07PING :a"


@pytest.mark.parametrize(
    ("size", "header"),
    [
        (125, b"\x81\x7d"),
        (126, b"\x81\x7e" + struct.pack("!H", 126)),
        (65535, b"\x81\x7e" + struct.pack("!H", 65535)),
        (65536, b"\x81\x7f" + struct.pack("!Q", 65536)),
    ],
)
def test_length_takes_7_16_or_64_bits(size: int, header: bytes) -> None:
    line = b"x" * size
    assert frame_lines(line + b"\r\n", binary=False) == header + line


def test_empty_lines_make_no_frame() -> None:
    assert frame_lines(b"\r\nPING :a\r\n\r\n", binary=False) == b"\x81\x07PING :a"


def test_close_frame_carries_its_status_code() -> None:
    assert close_frame() == b"\x88\x02\x03\xe8"
    assert close_frame(1009) == b"\x88\x02\x03\xf1"


def test_frame_cache_frames_equal_content_once_per_frame_type() -> None:
    cache = FrameCache()
    data = b"PRIVMSG #lobby :hi\r\n"
    first = cache.frames(data, False)
    assert first == frame_lines(data, binary=False)
    # Another connection's join of the same runs: an equal object, framed once all the same.
    assert cache.frames(b"".join([b"PRIVMSG #lobby ", b":hi\r\n"]), False) is first
    assert cache.frames(data, True) == b"\x82" + first[1:]
