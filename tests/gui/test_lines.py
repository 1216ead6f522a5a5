"""How transcript lines read, nick colours and links (lanchat.gui.lines), no Tk.

Whether a line mentions us is the client library's call (MessageReceived.highlight), tested
in tests/client/test_messages.py.
"""

from __future__ import annotations

from lanchat.gui.lines import (
    NICK_PALETTES,
    format_event,
    format_message,
    format_time,
    nick_colour,
    nick_colour_index,
    split_urls,
)

T0 = 1_700_000_000_000


def say(text: str, *, own: bool = False, nick: str = "bob", **kw: object) -> str:
    return format_message(nick=nick, ip="10.0.0.7", text=text, time_ms=T0, own=own, **kw).text


# --- lines ---


def test_own_message_reads_you_colon_text() -> None:
    assert say("hello", own=True, nick="alice") == f"{format_time(T0)} You: hello"


def test_others_message_shows_nick_and_ip() -> None:
    assert say("hi there") == f"{format_time(T0)} bob (10.0.0.7): hi there"


def test_action_reads_star_nick_text() -> None:
    assert say("waves", kind="action") == f"{format_time(T0)} * bob waves"


def test_notice_is_set_off_with_dashes() -> None:
    assert say("server restarting", kind="notice").endswith("-bob (10.0.0.7)- server restarting")


def test_message_without_ip_has_no_empty_brackets() -> None:
    line = format_message(nick="bob", ip="", text="x", time_ms=T0, own=False)
    assert line.text.endswith("bob: x")


def test_highlighted_message_tags_its_text() -> None:
    line = format_message(
        nick="bob", ip="1.2.3.4", text="alice!", time_ms=T0, own=False, highlight=True
    )
    assert line.highlight
    assert "highlight" in line.segments[-1].tags


def test_own_message_is_never_a_highlight() -> None:
    line = format_message(nick="alice", ip="", text="alice", time_ms=T0, own=True, highlight=True)
    assert not line.highlight


def test_nick_segment_carries_its_colour_tag() -> None:
    line = format_message(nick="bob", ip="", text="x", time_ms=T0, own=False)
    assert f"nick{nick_colour_index('bob')}" in line.segments[1].tags


def test_unicode_and_emoji_pass_through_unchanged() -> None:
    assert say("héllo 👋 世界").endswith("héllo 👋 世界")


def test_event_line_has_dash_and_text() -> None:
    assert format_event("bob joined", T0).text == f"{format_time(T0)} — bob joined"


# --- URLs ---


def test_urls_are_split_into_url_segments() -> None:
    segs = split_urls("see https://example.org/a?b=1 and www.python.org.")
    assert [(s.text, "url" in s.tags) for s in segs] == [
        ("see ", False),
        ("https://example.org/a?b=1", True),
        (" and ", False),
        ("www.python.org", True),
        (".", False),
    ]


def test_text_without_urls_is_one_segment() -> None:
    assert [s.text for s in split_urls("no links")] == ["no links"]


# --- nick colours ---


def test_nick_colour_is_stable_and_case_insensitive() -> None:
    assert nick_colour("Alice", "light") == nick_colour("alice", "light")
    assert nick_colour_index("alice") == nick_colour_index("ALICE")


def test_nick_colours_spread_over_the_palette() -> None:
    used = {nick_colour_index(f"user{i}") for i in range(100)}
    assert len(used) == len(NICK_PALETTES["light"])
