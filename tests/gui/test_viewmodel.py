"""The chat client's presentation logic, tested without Tk (lanchat.gui.viewmodel)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from lanchat.client.events import Action, ChangeNick, Join, Part, Quit, Say, SetAway, SetTopic
from lanchat.gui.viewmodel import (
    COMMANDS,
    NICK_PALETTES,
    ChatModel,
    Completer,
    Conversation,
    Help,
    InputHistory,
    Line,
    RoomListModel,
    UsageError,
    conversation_key,
    format_event,
    format_message,
    format_time,
    mentions,
    nick_colour,
    nick_colour_index,
    parse_input,
    split_urls,
)

T0 = 1_700_000_000_000


@dataclass(frozen=True)
class Ad:
    """The fields of a discovery RoomAd the Rooms page reads."""

    room: str
    host: str
    port: int
    users: int = 0
    topic: str = ""
    key_required: bool = False
    addresses: tuple[str, ...] = ()
    instance: str = ""


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


def test_palettes_are_readable_on_their_backgrounds() -> None:
    def luminance(hex_colour: str) -> float:
        rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    def contrast(a: str, b: str) -> float:
        la, lb = sorted((luminance(a), luminance(b)), reverse=True)
        return (la + 0.05) / (lb + 0.05)

    for theme, background in (("light", "#ffffff"), ("dark", "#1e2127")):
        for colour in NICK_PALETTES[theme]:
            assert contrast(colour, background) >= 4.5, (theme, colour)


# --- mentions ---


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("hi alice", True),
        ("ALICE: look", True),
        ("@alice!", True),
        ("malice", False),
        ("alice_", False),
        ("alicex", False),
        ("", False),
    ],
)
def test_mentions_match_whole_nick_words_only(text: str, hit: bool) -> None:
    assert mentions(text, "alice") is hit


def test_mentions_use_irc_case_mapping() -> None:
    # rfc1459: [ ] \ ~ are the lower-case forms of { } | ^
    assert mentions("hello [bob]", "{BOB}") is True


# --- conversations and unread counts ---


def test_unseen_tab_counts_unread_and_highlights() -> None:
    conv = Conversation("s", "#lobby", "room")
    conv.add(format_message(nick="b", ip="", text="x", time_ms=T0, own=False), seen=False)
    conv.add(
        format_message(nick="b", ip="", text="alice", time_ms=T0, own=False, highlight=True),
        seen=False,
    )
    assert (conv.unread, conv.highlighted, conv.title()) == (2, True, "#lobby (2!)")
    conv.mark_read()
    assert (conv.unread, conv.title()) == (0, "#lobby")


def test_seen_tab_and_notices_do_not_count() -> None:
    conv = Conversation("s", "#lobby", "room")
    conv.add(format_message(nick="b", ip="", text="x", time_ms=T0, own=False), seen=True)
    conv.add(format_event("bob joined"), seen=False, counts=False)
    assert conv.unread == 0


def test_duplicate_msgid_is_dropped() -> None:
    conv = Conversation("s", "#lobby", "room")
    line = format_message(nick="b", ip="", text="x", time_ms=T0, own=False, msgid="m1")
    assert conv.add(line, seen=True)
    assert not conv.add(line, seen=True)
    assert len(conv.lines) == 1


def test_view_is_trimmed_but_history_is_kept() -> None:
    conv = Conversation("s", "#big", "room", visible_limit=100)
    for i in range(10_000):
        conv.add(format_event(f"line {i}", T0), seen=True)
    assert len(conv.lines) == 10_000
    shown = conv.visible()
    assert len(shown) == 100
    assert shown[-1].text.endswith("line 9999")


def test_member_rows_put_ops_first_and_mark_own_nick() -> None:
    conv = Conversation("s", "#lobby", "room")
    conv.set_members([("", "zed"), ("+", "carol"), ("@", "bob"), ("", "alice")])
    assert conv.member_rows("Alice") == ["@bob", "+carol", "alice (you)", "zed"]


def msg(text: str, *, highlight: bool = False) -> Line:
    return format_message(nick="x", ip="", text=text, time_ms=T0, own=False, highlight=highlight)


def test_same_room_on_two_servers_is_two_tabs() -> None:
    model = ChatModel()
    a, _ = model.ensure("pc1:6667", "#lobby", "room")
    b, created = model.ensure("pc2:6667", "#LOBBY", "room")
    assert created and a is not b
    assert model.get("pc2:6667", "#lobby") is b


def test_window_title_shows_unread_total_and_mention_star() -> None:
    model = ChatModel()
    model.nicks["s"] = "alice"
    a, _ = model.ensure("s", "#a", "room")
    model.activate(a.key)
    model.add("s", "#b", "room", msg("hey"))
    assert model.window_title() == "(1) lanchat — alice"
    model.add("s", "bob", "private", msg("psst", highlight=True))
    assert model.window_title() == "* (2) lanchat — alice"
    model.activate(conversation_key("s", "#b"))
    model.activate(conversation_key("s", "bob"))
    assert model.window_title() == "lanchat — alice"


def test_active_tab_does_not_count_unless_window_is_unfocused() -> None:
    model = ChatModel()
    a, _ = model.ensure("s", "#a", "room")
    model.activate(a.key)
    model.add("s", "#a", "room", msg("seen"))
    model.focused = False
    model.add("s", "#a", "room", msg("not seen"))
    assert a.unread == 1


def test_duplicate_history_line_is_reported() -> None:
    model = ChatModel()
    line = format_message(nick="b", ip="", text="x", time_ms=T0, own=False, msgid="m1")
    assert model.add("s", "#a", "room", line)[1]
    assert not model.add("s", "#a", "room", line)[1]


def test_nick_change_renames_members_and_private_tab() -> None:
    model = ChatModel()
    room, _ = model.ensure("s", "#a", "room")
    room.set_members([("@", "bob"), ("", "alice")])
    other, _ = model.ensure("t", "#b", "room")
    other.set_members([("", "bob")])
    private, _ = model.ensure("s", "bob", "private")
    model.activate(private.key)
    touched = model.rename_nick("s", "bob", "robert")
    assert {c.name for c in touched} == {"#a", "robert"}
    assert room.member_rows("alice") == ["@robert", "alice (you)"]
    assert other.member_rows("alice") == ["bob"]
    assert model.get("s", "robert") is private and model.get("s", "bob") is None
    assert model.active == private.key


def test_closing_active_tab_leaves_no_active_tab() -> None:
    model = ChatModel()
    a, _ = model.ensure("s", "#a", "room")
    model.activate(a.key)
    model.close(a.key)
    assert model.active == "" and model.get("s", "#a") is None


# --- rooms page ---


def test_room_list_adds_updates_and_removes_by_instance() -> None:
    rooms = RoomListModel()
    ad = Ad("#lobby", "pc1", 6667, users=2, addresses=("192.168.1.5",), instance="lobby@pc1")
    assert rooms.upsert(ad)[0] == "added"
    assert rooms.upsert(ad)[0] == "same"
    more = Ad("#lobby", "pc1", 6667, users=3, addresses=("192.168.1.5",), instance="lobby@pc1")
    assert rooms.upsert(more)[0] == "updated"
    assert rooms.upsert(Ad("#lobby", "pc2", 6667, instance="lobby@pc2"))[0] == "added"
    assert [r.host for r in rooms.sorted()] == ["pc1", "pc2"]
    assert rooms.sorted()[0].values() == ("#lobby", "pc1", "3", "", "192.168.1.5:6667")
    assert rooms.remove(ad) is not None
    assert rooms.remove(ad) is None
    assert [r.host for r in rooms.sorted()] == ["pc2"]


def test_locked_room_shows_a_lock_and_prefers_ipv4() -> None:
    rooms = RoomListModel()
    rooms.upsert(
        Ad(
            "#secret",
            "pc",
            7000,
            key_required=True,
            addresses=("fe80::1", "10.0.0.2"),
            instance="s",
        )
    )
    row = rooms.sorted()[0]
    assert row.values()[0] == "#secret \N{LOCK}"
    assert row.connect_host() == "10.0.0.2"


def test_rooms_sort_case_insensitively() -> None:
    rooms = RoomListModel()
    for name in ("#zoo", "#Apple", "#mid"):
        rooms.upsert(Ad(name, "h", 1, instance=name))
    assert [r.room for r in rooms.sorted()] == ["#Apple", "#mid", "#zoo"]
    assert rooms.index_of("#mid") == 1


# --- input history ---


def test_history_up_down_recalls_lines_and_keeps_draft() -> None:
    hist = InputHistory()
    for line in ("one", "two", "two", "three"):
        hist.push(line)
    assert hist.entries == ["one", "two", "three"]
    assert hist.up("draft") == "three"
    assert hist.up("three") == "two"
    assert hist.up("two") == "one"
    assert hist.up("one") == "one"
    assert hist.down("one") == "two"
    assert hist.down("two") == "three"
    assert hist.down("three") == "draft"
    assert hist.down("draft") == "draft"


def test_history_up_on_empty_history_keeps_line() -> None:
    assert InputHistory().up("typing") == "typing"


# --- completion ---


def test_tab_completes_nick_at_start_with_colon() -> None:
    assert Completer().complete("bo", 2, ["alice", "Bob"]) == ("Bob: ", 5)


def test_tab_completes_nick_mid_line_with_space() -> None:
    assert Completer().complete("hi al there", 5, ["alice"]) == ("hi alice there", 9)


def test_repeated_tab_cycles_through_matches() -> None:
    comp = Completer()
    line, cur = comp.complete("b", 1, ["bob", "bea", "carl"])
    assert line == "bea: "
    line, cur = comp.complete(line, cur, ["bob", "bea", "carl"])
    assert line == "bob: "
    line, cur = comp.complete(line, cur, ["bob", "bea", "carl"])
    assert line == "bea: "


def test_tab_completes_commands() -> None:
    assert Completer().complete("/jo", 3, []) == ("/join ", 6)


def test_tab_with_no_match_changes_nothing() -> None:
    assert Completer().complete("xyz", 3, ["bob"]) == ("xyz", 3)


# --- slash commands ---


def p(text: str, target: str = "#lobby") -> object:
    return parse_input(text, target=target, server_id="s")


def test_plain_text_is_said_to_the_tab() -> None:
    assert p("hello") == Say("s", "#lobby", "hello")


def test_double_slash_sends_a_literal_slash() -> None:
    assert p("//shrug") == Say("s", "#lobby", "/shrug")


@pytest.mark.parametrize(
    ("text", "cmd"),
    [
        ("/me waves", Action("s", "#lobby", "waves")),
        ("/join #dev", Join("s", "#dev", "")),
        ("/join dev secret", Join("s", "#dev", "secret")),
        ("/part", Part("s", "#lobby", "")),
        ("/part bye all", Part("s", "#lobby", "bye all")),
        ("/part #dev later", Part("s", "#dev", "later")),
        ("/nick alice2", ChangeNick("s", "alice2")),
        ("/msg bob hi there", Say("s", "bob", "hi there")),
        ("/topic Friday games", SetTopic("s", "#lobby", "Friday games")),
        ("/away lunch", SetAway("s", "lunch")),
        ("/away", SetAway("s", "")),
        ("/quit gone", Quit("s", "gone")),
        ("/JOIN #Dev", Join("s", "#Dev", "")),
    ],
)
def test_slash_commands_become_client_commands(text: str, cmd: object) -> None:
    assert p(text) == cmd


def test_help_lists_every_command() -> None:
    result = p("/help")
    assert isinstance(result, Help)
    assert len(result.lines) == len(COMMANDS)


@pytest.mark.parametrize(
    ("text", "target", "message"),
    [
        ("/frob", "#lobby", "/frob is not a command here; type /help for the list"),
        ("/me", "#lobby", "usage: /me text"),
        ("/join", "#lobby", "usage: /join #room [key]"),
        ("/join #a,b", "#lobby", "#a,b is not a valid room name"),
        ("/nick", "#lobby", "usage: /nick newnick"),
        ("/nick 9lives", "#lobby", "9lives is not a valid nickname"),
        ("/msg bob", "#lobby", "usage: /msg nick text"),
        ("/topic x", "bob", "/topic works in a room tab"),
        ("/part", "bob", "you are not in a room here"),
        ("hello", "", "to talk, join a room first: /join #room"),
    ],
)
def test_bad_commands_say_how_to_write_them(text: str, target: str, message: str) -> None:
    with pytest.raises(UsageError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        p(text, target)
