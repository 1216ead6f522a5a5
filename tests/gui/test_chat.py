"""The transcript and input widgets on their own (lanchat.gui.chat), real Tk under Xvfb."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lanchat.gui.chat import ConversationView, InputBar
from lanchat.gui.lines import format_event, format_message
from lanchat.gui.theme import PALETTES
from lanchat.gui.viewmodel import MemberRow
from tests.gui.tk_support import focus, said_by, tk_root

pytestmark = pytest.mark.gui

T0 = 1_700_000_000_000


@pytest.fixture
def opened() -> list[str]:
    return []


@pytest.fixture
def view(opened: list[str]) -> Iterator[ConversationView]:
    with tk_root() as root:
        v = ConversationView(root, PALETTES["light"], visible_limit=100, open_url=opened.append)
        v.pack(fill="both", expand=True)
        yield v


def test_transcript_keeps_only_the_newest_lines_in_view(view: ConversationView) -> None:
    for start in range(0, 10_000, 500):
        view.append([format_event(f"line {i}", T0) for i in range(start, start + 500)])
    assert view.line_count() == 100
    lines = view.contents().splitlines()
    assert lines[0].endswith("line 9900")
    assert lines[-1].endswith("line 9999")


def test_unicode_and_emoji_round_trip_through_the_transcript(view: ConversationView) -> None:
    text = "héllo wörld 👋🏽 世界 ✓"
    view.append([format_message(nick="bob", ip="10.0.0.7", text=text, time_ms=T0, own=False)])
    assert said_by(view.contents(), text) == "bob"


def test_closing_a_tab_while_a_search_hit_is_highlighted_leaves_no_timer(
    opened: list[str],
) -> None:
    with tk_root() as root:
        v = ConversationView(root, PALETTES["light"], visible_limit=100, open_url=opened.append)
        hit = format_message(nick="bob", ip="", text="the hit", time_ms=T0, own=False, msgid="m1")
        v.show([hit], found="m1")
        assert v.found_text() == "the hit"
        pending = set(root.tk.splitlist(root.tk.call("after", "info")))
        assert pending, "the highlight's fading is scheduled"
        v.destroy()  # the tab closes before the highlight fades
        left = set(root.tk.splitlist(root.tk.call("after", "info")))
        assert not pending & left, "the fading timer would call into a destroyed transcript"


def test_transcript_is_read_only_but_selectable(view: ConversationView) -> None:
    view.append([format_event("copy me", T0)])
    view.text.insert("end", "typed")
    assert "typed" not in view.contents()
    view.text.tag_add("sel", "1.0", "end-1c")
    assert view.text.get("sel.first", "sel.last").endswith("copy me")


def test_clicking_a_link_opens_it(view: ConversationView, opened: list[str]) -> None:
    view.append([format_message(nick="bob", ip="", text="see www.python.org now", time_ms=T0,
                                own=False)])  # fmt: skip
    focus(view.text)  # bbox() and clicks need a mapped window
    start = view.text.search("www.python.org", "1.0")
    x, y, _w, h = view.text.bbox(f"{start}+3c")  # type: ignore[misc]
    # Tag bindings follow the "current" mark, which the pointer moves: point, then click.
    view.text.event_generate("<Motion>", x=x + 1, y=y + h // 2)
    view.text.event_generate("<Button-1>", x=x + 1, y=y + h // 2)
    assert opened == ["https://www.python.org"]


def test_member_list_and_topic(view: ConversationView) -> None:
    view.set_members(
        [
            MemberRow("@bob", "bob", "nick3", "10.0.0.7"),
            MemberRow("alice (you)", "alice", "own", ""),
        ]
    )
    view.set_topic("")
    assert view.member_rows() == ["@bob", "alice (you)"]
    assert view.members.member_tags() == ["nick3", "own"]
    assert view.members is not None and view.members.member_count.cget("text") == "2 here"
    assert view.topic.cget("text") == "No topic. Set one with /topic"


def test_input_bar_sends_and_ignores_blank_lines() -> None:
    sent: list[str] = []
    with tk_root() as root:
        bar = InputBar(root, PALETTES["light"], sent.append, lambda: ["bob"])
        bar.pack()
        focus(bar.entry)
        bar.entry.set_text("   ")
        bar.entry.event_generate("<Return>")
        bar.entry.set_text("hi 👋")
        bar.entry.event_generate("<Return>")
        bar.entry.set_text("second")
        bar.send_button.invoke()
        assert sent == ["hi 👋", "second"]
        assert bar.entry.get_text() == ""


def test_wrapped_event_rows_are_indented_under_the_text(view: ConversationView) -> None:
    long = "carol left (" + "a very long goodbye that wraps " * 8 + ")."
    view.append([format_event(long, T0)])
    focus(view.text)
    first = view.text.search("carol", "1.0")
    wrapped = view.text.index(f"{first} display lineend +1c")  # the first wrapped row
    x_text = view.text.bbox(first)[0]  # type: ignore[index]
    x_wrapped = view.text.bbox(wrapped)[0]  # type: ignore[index]
    assert x_wrapped == x_text  # under the text, not under the time
