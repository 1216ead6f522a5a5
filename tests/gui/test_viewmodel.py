"""Tabs, unread counts, member lists, the window title and the Rooms page list
(lanchat.gui.viewmodel), tested without Tk."""

from __future__ import annotations

from lanchat.discovery.events import RoomAdded, RoomRemoved
from lanchat.discovery.records import RoomAd as Ad
from lanchat.gui.lines import Line, format_event, format_message, nick_colour_index
from lanchat.gui.viewmodel import ChatModel, Conversation, RoomListModel, conversation_key

T0 = 1_700_000_000_000


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


def test_member_list_carries_the_transcript_colours() -> None:
    conv = Conversation("s", "#lobby", "room")
    conv.set_members([("", "bob", "10.0.0.7", False), ("", "alice", "", False),
                      ("", "carol", "10.0.0.9", True)])  # fmt: skip
    rows = {row.nick: row for row in conv.member_list("alice")}
    assert rows["bob"].tag == f"nick{nick_colour_index('bob')}"
    assert rows["bob"].ip == "10.0.0.7"
    assert (rows["alice"].tag, rows["carol"].tag) == ("own", "away")


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
    assert model.window_title() == "lanchat — alice"  # not connected yet: no name
    model.connected.add("s")
    assert model.window_title() == "bob — lanchat"


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


def test_own_nick_change_never_renames_a_private_tab() -> None:
    model = ChatModel()
    room, _ = model.ensure("s", "#a", "room")
    room.set_members([("", "bob")])
    private, _ = model.ensure("s", "bob", "private")
    touched = model.rename_nick("s", "bob", "alice", own=True)
    assert touched == [room]
    assert model.get("s", "bob") is private and model.get("s", "alice") is None


def test_closing_active_tab_leaves_no_active_tab() -> None:
    model = ChatModel()
    a, _ = model.ensure("s", "#a", "room")
    model.activate(a.key)
    model.close(a.key)
    assert model.active == "" and model.get("s", "#a") is None


# --- rooms page ---


def test_room_list_adds_updates_and_removes_by_instance() -> None:
    rooms = RoomListModel()

    def change(event: RoomAdded | RoomRemoved) -> list[str]:
        return [name for name, _ in rooms.apply(event)]

    ad = Ad("#lobby", "pc1", 6667, users=2, addresses=("192.168.1.5",), instance="lobby@pc1")
    assert change(RoomAdded(ad)) == ["added"]
    assert change(RoomAdded(ad)) == ["same"]
    more = Ad("#lobby", "pc1", 6667, users=3, addresses=("192.168.1.5",), instance="lobby@pc1")
    assert change(RoomAdded(more)) == ["updated"]
    assert change(RoomAdded(Ad("#lobby", "pc2", 6667, instance="lobby@pc2"))) == ["added"]
    assert [r.host for r in rooms.sorted()] == ["pc1", "pc2"]
    assert rooms.sorted()[0].values() == ("#lobby", "pc1", "3", "", "192.168.1.5:6667")
    assert change(RoomRemoved(ad)) == ["removed"]
    assert change(RoomRemoved(ad)) == []
    assert [r.host for r in rooms.sorted()] == ["pc2"]


def test_clustered_room_is_one_row_showing_every_node_and_connecting_to_the_first() -> None:
    rooms = RoomListModel()
    a = Ad("#party", "hall-a", 6667, users=5, addresses=("10.1.0.1",), instance="#party on hall-a",
           cluster="c1", tls=6697, fp="a" * 64)  # fmt: skip
    b = Ad("#party", "hall-b", 7000, users=5, addresses=("fd00::2",), instance="#party on hall-b",
           cluster="c1", tls=7001, fp="b" * 64)  # fmt: skip
    rooms.apply(RoomAdded(b))
    ((change, row),) = rooms.apply(RoomAdded(a))
    assert change == "updated" and list(rooms.rows) == ["cluster c1 #party"]
    assert row.values() == ("#party", "hall-a, hall-b", "5", "", "10.1.0.1:6667, [fd00::2]:7000")
    assert (row.connect_host(), row.port, row.tls, row.fp) == ("10.1.0.1", 6667, 6697, "a" * 64)
    assert row.nodes == (a, b)
    ((change, row),) = rooms.apply(RoomRemoved(a))
    assert change == "updated" and row.values()[1:] == ("hall-b", "5", "", "[fd00::2]:7000")


def test_locked_room_shows_a_lock_and_connects_to_the_address_it_shows() -> None:
    rooms = RoomListModel()
    rooms.apply(
        RoomAdded(
            Ad(
                "#secret",
                "pc",
                7000,
                key_required=True,
                addresses=("fd00::7", "10.0.0.2"),  # the browser puts the one that answered first
                instance="s",
            )
        )
    )
    row = rooms.sorted()[0]
    assert row.values()[0] == "#secret \N{LOCK}"
    assert row.values()[4] == "[fd00::7]:7000"
    assert row.connect_host() == "fd00::7"
    assert row.label() == "#secret on pc ([fd00::7]:7000)"


def test_rooms_sort_case_insensitively() -> None:
    rooms = RoomListModel()
    for name in ("#zoo", "#Apple", "#mid"):
        rooms.apply(RoomAdded(Ad(name, "h", 1, instance=name)))
    assert [r.room for r in rooms.sorted()] == ["#Apple", "#mid", "#zoo"]
    assert rooms.index_of("#mid") == 1


# --- jumping to a search hit ---


def said(text: str, time_ms: int, msgid: str) -> Line:
    return format_message(nick="bob", ip="", text=text, time_ms=time_ms, own=False, msgid=msgid)


def test_context_goes_in_as_one_block_above_the_first_later_message() -> None:
    conv = Conversation("s", "#lobby", "room", visible_limit=3)
    conv.add(format_event("You joined #lobby.", T0 + 99_000), seen=True)  # stamped when shown
    for n in range(5):  # a burst: the first four share a millisecond
        conv.add(said(f"later {n}", T0 + 10 + (n == 4), f"l{n}"), seen=True)
    context = [said("before", T0, "c0"), said("found", T0 + 10, "c1"), said("later 0", 0, "l0")]
    conv.insert_context(context)
    texts = [line.text for line in conv.lines]
    assert texts == ["You joined #lobby.", "before", "found", *(f"later {n}" for n in range(5))]
    assert conv.index_of("c1") == 2 and conv.index_of("nothing") is None
    assert [line.text for line in conv.visible()] == ["later 2", "later 3", "later 4"]
    shown = [line.text for line in conv.visible(around="c1")]
    assert shown[0] == "You joined #lobby." and shown[-1] == "later 4"  # the hit to the newest
