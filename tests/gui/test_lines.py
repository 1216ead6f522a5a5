"""How the transcript reads (grouping, dates, events), nick colours, links and emoji
(lanchat.gui.lines), no Tk.

Whether a line mentions us is the client library's call (MessageReceived.highlight), tested
in tests/client/test_messages.py.
"""

from __future__ import annotations

import datetime as dt

from lanchat.gui.lines import (
    GROUP_GAP_MS,
    NICK_PALETTES,
    Line,
    day_label,
    format_event,
    format_message,
    format_time,
    nick_colour,
    nick_colour_index,
    render,
    split_text,
    split_urls,
)

T0 = 1_700_000_000_000
TODAY = dt.datetime.fromtimestamp(T0 / 1000).date()
MINUTE_MS = 60_000


def say(text: str, *, own: bool = False, nick: str = "bob", **kw: object) -> Line:
    return format_message(nick=nick, ip="10.0.0.7", text=text, time_ms=T0, own=own, **kw)


def read(*lines: Line, today: dt.date = TODAY) -> str:
    """The lines laid out one after the other, as plain text."""
    out, prev = [], None
    for line in lines:
        out.append("".join(s.text for s in render(line, prev, today)))
        prev = line
    return "\n".join(out)


def later(line: Line, ms: int) -> Line:
    return line._replace(time_ms=line.time_ms + ms)


# --- lines ---


def test_messages_are_grouped_under_their_sender_and_time() -> None:
    t, t1 = format_time(T0), format_time(T0 + MINUTE_MS)
    first, second = say("hi"), later(say("still me"), MINUTE_MS)
    assert read(first, second, later(say("me too", nick="carol"), MINUTE_MS)) == (
        f"Today\nbob  {t}\nhi\nstill me\ncarol  {t1}\nme too"
    )


def test_a_pause_or_a_new_day_starts_a_new_group() -> None:
    pause = later(say("back"), GROUP_GAP_MS)
    assert read(say("hi"), pause).count("bob  ") == 2
    tomorrow = later(say("morning"), 24 * 60 * MINUTE_MS)
    text = read(say("hi"), tomorrow, today=TODAY + dt.timedelta(days=1))
    assert text.splitlines()[0] == "Yesterday"
    assert "Today" in text.splitlines() and text.count("bob  ") == 2


def test_own_messages_are_under_you() -> None:
    assert read(say("hello", own=True, nick="alice")).splitlines()[1:] == [
        f"You  {format_time(T0)}",
        "hello",
    ]


def test_the_address_is_not_on_the_line_but_kept_for_the_tooltip() -> None:
    line = say("hi there")
    assert "10.0.0.7" not in read(line)
    assert line.ip == "10.0.0.7"


def test_action_and_events_read_time_then_text() -> None:
    t = format_time(T0)
    assert read(say("waves", kind="action")).splitlines()[-1] == f"{t}  * bob waves"
    assert read(format_event("bob joined.", T0)).splitlines()[-1] == f"{t}  bob joined."
    # wrapped rows of these are indented under the text: the "row" tag carries the margin
    assert all("row" in s.tags for s in render(format_event("x", T0), say("y"), TODAY))


def test_notice_is_set_off_with_dashes() -> None:
    assert say("server restarting", kind="notice").text == "-bob- server restarting"


def test_day_labels() -> None:
    today = dt.date(2026, 12, 4)
    assert day_label(today, today) == "Today"
    assert day_label(dt.date(2026, 12, 3), today) == "Yesterday"
    assert day_label(dt.date(2026, 11, 30), today) == "Monday 30 November"
    assert day_label(dt.date(2025, 11, 30), today) == "Sunday 30 November 2025"


def test_highlighted_message_tags_its_text() -> None:
    line = format_message(
        nick="bob", ip="1.2.3.4", text="alice!", time_ms=T0, own=False, highlight=True
    )
    assert line.highlight
    assert "highlight" in line.segments[-1].tags


def test_own_message_is_never_a_highlight() -> None:
    line = format_message(nick="alice", ip="", text="alice", time_ms=T0, own=True, highlight=True)
    assert not line.highlight


def test_header_name_carries_its_colour_tag() -> None:
    header = render(say("x"), None, TODAY)[2]
    assert header.text == "bob"
    assert f"nick{nick_colour_index('bob')}" in header.tags


def test_unicode_and_emoji_pass_through_unchanged() -> None:
    assert say("héllo 👋 世界").text == "héllo 👋 世界"


def test_emoji_runs_get_the_emoji_tag() -> None:
    segs = split_text("party 🎉🎈 time 👋🏽!")
    assert [(s.text, "emoji" in s.tags) for s in segs] == [
        ("party ", False),
        ("🎉🎈", True),
        (" time ", False),
        ("👋🏽", True),
        ("!", False),
    ]


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
