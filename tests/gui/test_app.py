"""The chat window with real Tk widgets under Xvfb (lanchat.gui.app).

Events are posted into a real NetworkThread's queue from another thread, exactly as its loop
thread posts them, and the tests read what the widgets then display; the network parts run
against a real `lanchat serve` (tests/gui/test_chat_server.py).
"""

from __future__ import annotations

import itertools
import threading
import tkinter as tk
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanchat.client import events as ev
from lanchat.client.bridge import NetworkThread, RoomAdded, RoomRemoved, RoomUpdated
from lanchat.discovery.records import RoomAd
from lanchat.gui import settings
from lanchat.gui.app import ChatApp, _Server
from lanchat.gui.chat import ConversationView
from lanchat.gui.dialogs import KeyDialog
from lanchat.gui.settings import Settings
from lanchat.gui.theme import PALETTES
from lanchat.gui.viewmodel import conversation_key
from tests.gui.tk_support import focus, run_until, said_by, tk_root

pytestmark = pytest.mark.gui

SID = "10.0.0.1:6667"
T0 = 1_700_000_000_000


@pytest.fixture
def network() -> Iterator[NetworkThread]:
    net = NetworkThread(browse=False)
    net.start()
    yield net
    net.stop()


@pytest.fixture
def app(network: NetworkThread, tmp_path: Path) -> Iterator[ChatApp]:
    with tk_root() as root:
        chat = ChatApp(
            root, network, Settings(nick="alice"), settings_path=tmp_path / "s.json", bell=False
        )
        # as if connected: the events below are what a server at SID would cause
        chat.servers[SID] = _Server("10.0.0.1", 6667, "alice", state="connected")
        chat.model.nicks[SID] = "alice"
        chat.model.connected.add(SID)
        chat.start()
        yield chat
        chat.close()


def post(app: ChatApp, *events: object) -> None:
    """Put events on the bridge queue from another thread, as the network thread does."""
    t = threading.Thread(target=lambda: [app.network.events.put(e) for e in events])
    t.start()
    t.join()


def msg(
    text: str, *, nick: str = "bob", target: str = "#lobby", **kw: object
) -> ev.MessageReceived:
    fields: dict[str, object] = dict(
        server_id=SID,
        target=target,
        nick=nick,
        ip="10.0.0.7",
        text=text,
        time_ms=T0,
        msgid=None,
        kind="privmsg",
        own=False,
        private=False,
        highlight=False,
        history=False,
    )
    fields.update(kw)
    return ev.MessageReceived(**fields)


def joined_lobby(app: ChatApp) -> None:
    post(
        app,
        ev.Joined(SID, "#lobby", "alice", "10.0.0.2", True),
        ev.TopicChanged(SID, "#lobby", "Friday games", "", 0),
        ev.MembersChanged(
            SID,
            "#lobby",
            (ev.Member("bob", "@", "10.0.0.7", False), ev.Member("alice", "", "10.0.0.2", False)),
        ),
    )
    key = conversation_key(SID, "#lobby")
    run_until(app.root, lambda: key in app.views and bool(app.views[key].member_rows()), "#lobby")


def view(app: ChatApp, name: str) -> ConversationView:
    return app.views[conversation_key(SID, name)]


def tab_texts(app: ChatApp) -> list[str]:
    return [app.tabs.tab(t, "text") for t in app.tabs.tabs()]


def test_events_from_the_network_thread_fill_the_room_tab(app: ChatApp) -> None:
    joined_lobby(app)
    post(app, msg("hi there 👋"))
    lobby = view(app, "#lobby")
    run_until(app.root, lambda: "hi there" in lobby.contents(), lobby.contents)
    assert tab_texts(app) == ["Rooms", "#lobby"]
    assert said_by(lobby.contents(), "hi there 👋") == "bob"
    assert "10.0.0.7" not in lobby.contents().splitlines()[-1]
    assert lobby.member_rows() == ["@bob", "alice (you)"]
    assert lobby.topic.cget("text") == "Friday games"
    assert app.input.winfo_manager() == "pack"
    app.tabs.select(app.rooms_page)
    run_until(app.root, lambda: not app.input.winfo_manager(), "the input line hidden")


def test_a_backlog_is_applied_in_bounded_batches(app: ChatApp) -> None:
    joined_lobby(app)
    ticks = []
    original = app.pump.tick

    def counted() -> int:
        ticks.append(app.network.events.qsize())
        return original()

    app.pump.tick = counted
    post(app, *(msg(f"line {i}") for i in range(1000)))
    lobby = view(app, "#lobby")
    run_until(app.root, lambda: "line 999" in lobby.contents(), "line 999")
    # every tick takes at most `batch` (200) events, leaving the rest for the next tick
    sizes = [t for t in ticks if t]
    assert len(sizes) >= 4
    assert all(0 < a - b <= app.batch for a, b in itertools.pairwise(sizes))


def test_background_tab_gets_unread_badge_and_title_count(app: ChatApp) -> None:
    joined_lobby(app)
    post(app, ev.Joined(SID, "#dev", "alice", "", True))
    run_until(app.root, lambda: "#dev" in tab_texts(app), "#dev tab")
    post(app, msg("psst", target="#lobby"), msg("alice, look", highlight=True))
    run_until(app.root, lambda: "#lobby (2!)" in tab_texts(app), lambda: str(tab_texts(app)))
    assert app.root.title() == "* (2) #dev — lanchat"
    app.tabs.select(view(app, "#lobby"))
    run_until(app.root, lambda: "#lobby" in tab_texts(app), lambda: str(tab_texts(app)))
    assert app.root.title() == "#lobby — lanchat"


def test_mention_is_highlighted_in_the_transcript(app: ChatApp) -> None:
    joined_lobby(app)
    post(app, msg("hey alice", highlight=True))
    lobby = view(app, "#lobby")
    run_until(app.root, lambda: "hey alice" in lobby.contents(), lobby.contents)
    start = lobby.text.search("hey alice", "1.0")
    assert "highlight" in lobby.text.tag_names(start)


def test_private_message_opens_its_own_tab(app: ChatApp) -> None:
    joined_lobby(app)
    post(app, msg("secret", target="bob", private=True, highlight=True))
    run_until(app.root, lambda: "bob (1!)" in tab_texts(app), lambda: str(tab_texts(app)))
    assert said_by(view(app, "bob").contents(), "secret") == "bob"


def test_history_lines_come_first_without_duplicates(app: ChatApp) -> None:
    joined_lobby(app)
    post(app, msg("live after joining", msgid="n1"))
    old = [msg(f"old {i}", msgid=f"m{i}", history=True) for i in range(3)]
    post(app, *old, ev.HistoryLoaded(SID, "#lobby", 3), msg("old 2", msgid="m2"))
    post(app, msg("live later", msgid="n2"))
    lobby = view(app, "#lobby")
    run_until(app.root, lambda: "live later" in lobby.contents(), lobby.contents)
    lines = lobby.contents().splitlines()
    wanted = ("old 0", "old 2", "You joined #lobby.", "live after joining", "live later")
    order = [next(i for i, t in enumerate(lines) if w in t) for w in wanted]
    assert order == sorted(order)
    assert lobby.contents().count("old 2") == 1
    assert "topic" not in lobby.contents()  # the topic on join is in the bar, not a line


def test_leaving_a_room_empties_its_member_list(app: ChatApp) -> None:
    joined_lobby(app)
    post(app, ev.Parted(SID, "#lobby", "alice", "", True))
    lobby = view(app, "#lobby")
    run_until(app.root, lambda: "You left #lobby." in lobby.contents(), lobby.contents)
    assert lobby.member_rows() == []
    assert lobby.members is not None
    assert lobby.members.empty_text().startswith("Nobody listed")


def test_notices_for_joins_parts_nicks_and_kicks(app: ChatApp) -> None:
    joined_lobby(app)
    post(
        app,
        ev.Joined(SID, "#lobby", "carol", "10.0.0.9", False),
        ev.MembersChanged(SID, "#lobby", (ev.Member("carol", "", "10.0.0.9", False),)),
        ev.NickChanged(SID, "carol", "caro", False),
        ev.Parted(SID, "#lobby", "caro", "bye", False),
        ev.Kicked(SID, "#lobby", "bob", "alice", "spam", False),
        ev.TopicChanged(SID, "#lobby", "New topic", "bob", T0, live=True),
    )
    lobby = view(app, "#lobby")
    run_until(app.root, lambda: "set the topic" in lobby.contents(), lobby.contents)
    text = lobby.contents()
    for expected in (
        "carol (10.0.0.9) joined.",
        "carol is now caro.",
        "caro left (bye).",
        "alice removed bob (spam).",
        'bob set the topic to "New topic".',
    ):
        assert expected in text
    assert lobby.topic.cget("text") == "New topic"


def test_own_nick_change_keeps_private_tabs_and_is_remembered_once_confirmed(
    app: ChatApp,
) -> None:
    joined_lobby(app)
    post(app, msg("hi alice", nick="bob", target="bob", private=True))
    run_until(app.root, lambda: app.model.get(SID, "bob") is not None, "bob's tab")
    app.show_tab(app.model.conversations[conversation_key(SID, "#lobby")])
    app.submit_line("/nick bob")  # refused by the server (433): nothing is remembered
    assert app.settings.nick == "alice"
    # the reconnected session got "bob" once (before issue #15's fix); now renaming ourselves
    post(app, ev.NickChanged(SID, "bob", "carol", True))
    run_until(app.root, lambda: app.settings.nick == "carol", "the confirmed nick remembered")
    assert app.model.get(SID, "bob") is not None and app.model.get(SID, "carol") is None
    assert "bob (1)" in tab_texts(app)


def joined_from_the_rooms_page(app: ChatApp) -> RoomAd:
    """#lobby listed on the Rooms page, chosen there and joined; returns its advertisement."""
    ad = RoomAd("#lobby", "pc1", 6667, addresses=("10.0.0.1",), instance="lobby on pc1")
    post(app, RoomAdded(ad))
    run_until(app.root, lambda: bool(app.rooms_page.shown_rows()), "the row")
    joined_lobby(app)
    app.joins.join_room(app.rooms_page.model.rows["lobby on pc1"], "alice")
    return ad


def test_a_closed_room_shows_one_updating_line_then_stops(app: ChatApp) -> None:
    ad = joined_from_the_rooms_page(app)
    lobby = view(app, "#lobby")
    before = len(lobby.contents().splitlines())
    for attempt in (2, 3, 4):
        post(
            app,
            ev.Disconnected(SID, "Server shutting down", True, 5.0),
            ev.Connecting(SID, "10.0.0.1", 6667, attempt),
        )
    post(app, ev.Disconnected(SID, "Connection refused", True, 5.0))
    run_until(
        app.root, lambda: lobby.connection_message() == "Reconnecting in 5 s…", lobby.contents
    )
    assert lobby.retry_button.winfo_manager() == "pack"
    assert len(lobby.contents().splitlines()) == before + 1  # "Connection lost (...)" once
    assert lobby.member_rows() == []  # nobody is known to be there while disconnected
    post(app, RoomRemoved(ad))
    run_until(
        app.root,
        lambda: lobby.connection_message() == "#lobby was closed by its host.",
        lobby.connection_message,
    )
    assert app.servers[SID].state == "closed"
    assert lobby.retry_button.winfo_manager() == ""


def test_a_room_back_on_the_lan_is_retried_again(app: ChatApp) -> None:
    ad = joined_from_the_rooms_page(app)
    post(app, RoomRemoved(ad), RoomAdded(ad))  # mDNS lost it for a moment, while connected
    run_until(app.root, lambda: bool(app.rooms_page.shown_rows()), "the row back")
    post(app, ev.Disconnected(SID, "Connection reset", True, 5.0))
    lobby = view(app, "#lobby")
    run_until(app.root, lambda: lobby.connection_message().startswith("Reconnecting"), "retry")
    assert app.servers[SID].state == "reconnecting"


def test_reconnect_state_shows_in_the_status_bar(app: ChatApp) -> None:
    joined_lobby(app)
    post(app, ev.Disconnected(SID, "connection reset", True, 2.0))
    run_until(app.root, lambda: "retrying" in app.status.cget("text"), "retry status")
    assert app.status.cget("text") == (
        "Connection to 10.0.0.1:6667 lost (connection reset); retrying in 2 s."
    )
    post(app, ev.Connecting(SID, "10.0.0.1", 6667, 2), ev.Registered(SID, "alice", "", "x"))
    run_until(app.root, lambda: "Connected" in app.status.cget("text"), "connected status")
    assert "Reconnected; missed messages are filled in." in view(app, "#lobby").contents()


def test_server_errors_are_shown_in_plain_words(app: ChatApp) -> None:
    joined_lobby(app)
    post(
        app,
        ev.ServerError(SID, "475", "Cannot join channel (+k)", "This room needs a key (password)"),
    )
    run_until(app.root, lambda: bool(app.banner.message()), "the banner")
    assert app.banner.message() == "This room needs a key (password)"
    app.banner.hide()
    assert app.banner.message() == ""


def test_a_banner_keeps_the_newest_line_in_sight(app: ChatApp) -> None:
    joined_lobby(app)
    post(app, *(msg(f"line {i}") for i in range(100)))
    lobby = view(app, "#lobby")
    run_until(app.root, lambda: "line 99" in lobby.contents(), "line 99")
    focus(lobby.text)
    assert lobby.text.yview()[1] == 1.0
    app.banner.show("Something went wrong, and this line wraps " * 8)
    app.root.update()
    assert lobby.text.yview()[1] == 1.0


def test_retry_now_keeps_its_size_beside_a_long_status(app: ChatApp) -> None:
    joined_lobby(app)
    reason = "the network cable was pulled out of the wall socket by the cleaner " * 3
    post(app, ev.Disconnected(SID, reason, True, 5.0))
    run_until(app.root, lambda: bool(app.retry_button.winfo_manager()), "Retry now")
    focus(app.input.entry)
    button = app.retry_button
    assert button.winfo_width() >= button.winfo_reqwidth()


def test_stale_errors_are_cleared_by_success(app: ChatApp) -> None:
    joined_lobby(app)
    key_error = ev.ServerError(SID, "475", "#dev: Cannot join", "This room needs a key", "#dev")
    post(app, key_error)
    run_until(app.root, lambda: bool(app.banner.message()), "the key banner")
    post(app, ev.Joined(SID, "#dev", "alice", "10.0.0.2", True))
    run_until(app.root, lambda: not app.banner.message(), "the key banner gone after joining")
    post(app, ev.ServerError(SID, "404", "#dev: Cannot send", "You cannot talk in this room"))
    run_until(app.root, lambda: "cannot talk" in app.status.cget("text"), "the 404 status")
    post(app, ev.Joined(SID, "#games", "alice", "10.0.0.2", True))
    run_until(app.root, lambda: "Connected to" in app.status.cget("text"), "status after /join")
    post(app, ev.ServerError(SID, "433", "bob: in use", "That nickname is taken", "bob"))
    run_until(app.root, lambda: bool(app.banner.message()), "the nick banner")
    post(app, ev.NickChanged(SID, "alice", "alicia", True))
    run_until(app.root, lambda: not app.banner.message(), "the nick banner gone after /nick")
    assert app.status.cget("text") == "Connected to 10.0.0.1:6667 as alicia."
    post(app, ev.ConnectFailed("10.9.9.9:6667", "Connection refused", "Is the room running?"))
    app.servers["10.9.9.9:6667"] = _Server("10.9.9.9", 6667, "alicia", state="failed")
    run_until(app.root, lambda: bool(app.banner.message()), "the bad-host banner")
    app.connect("10.0.0.3", 6667, "alicia", rooms=("#x",))
    assert app.banner.message() == ""


def test_rooms_page_follows_discovery(app: ChatApp) -> None:
    ad = RoomAd(
        "#lobby",
        "pc1",
        6667,
        users=2,
        topic="hi",
        addresses=("10.0.0.1",),
        instance="#lobby on pc1",
    )
    other = RoomAd(
        "#dev", "pc2", 7000, key_required=True, addresses=("10.0.0.2",), instance="#dev on pc2"
    )
    post(app, RoomAdded(ad), RoomAdded(other))
    page = app.rooms_page
    run_until(app.root, lambda: len(page.shown_rows()) == 2, lambda: str(page.shown_rows()))
    assert page.shown_rows() == [
        ("#dev \N{LOCK}", "pc2", "0", "", "10.0.0.2:7000"),
        ("#lobby", "pc1", "2", "hi", "10.0.0.1:6667"),
    ]
    post(
        app,
        RoomUpdated(
            RoomAd(
                "#lobby",
                "pc1",
                6667,
                users=5,
                topic="hi",
                addresses=("10.0.0.1",),
                instance="#lobby on pc1",
            )
        ),
        RoomRemoved(other),
    )
    run_until(app.root, lambda: len(page.shown_rows()) == 1, lambda: str(page.shown_rows()))
    assert page.shown_rows() == [("#lobby", "pc1", "5", "hi", "10.0.0.1:6667")]
    assert page.status.cget("text") == "1 room found. Double-click to join."


def test_locked_room_asks_for_its_key_before_joining(app: ChatApp) -> None:
    locked = RoomAd("#dev", "pc2", 1, key_required=True, addresses=("127.0.0.1",), instance="d")
    post(app, RoomAdded(locked))
    page = app.rooms_page
    run_until(app.root, lambda: bool(page.shown_rows()), "the room row")
    page.select("d")
    page.join_button.invoke()
    dialogs = [w for w in app.root.winfo_children() if isinstance(w, KeyDialog)]
    assert len(dialogs) == 1
    dialogs[0].ok.invoke()
    assert dialogs[0].problem.cget("text") == "Type the key (it has no spaces)."
    dialogs[0].entry.insert(0, "hunter2")
    dialogs[0].ok.invoke()
    assert "127.0.0.1:1" in app.servers
    # nobody listens on port 1: the refusal comes back in plain words
    run_until(app.root, lambda: bool(app.banner.message()), "the refusal")
    assert "Nobody is answering at 127.0.0.1:1" in app.banner.message()


def test_look_alike_locked_rooms_ask_for_the_key_naming_the_address_joined(app: ChatApp) -> None:
    # Issue 13, item 11: the same room name and host label from two addresses, both locked;
    # the key dialog says where the key goes, and Join connects to the address shown.
    real = RoomAd("#lobby", "vm", 1, key_required=True, addresses=("127.0.0.1",), instance="r")
    fake = RoomAd("#lobby", "vm", 2, key_required=True, addresses=("127.0.0.2",), instance="f")
    post(app, RoomAdded(real), RoomAdded(fake))
    page = app.rooms_page
    run_until(app.root, lambda: len(page.shown_rows()) == 2, "both rows")
    assert [row[4] for row in page.shown_rows()] == ["127.0.0.1:1", "127.0.0.2:2"]
    page.select("f")
    page.join_button.invoke()
    [dialog] = [w for w in app.root.winfo_children() if isinstance(w, KeyDialog)]
    assert dialog.title() == "Key for #lobby on vm (127.0.0.2:2)"
    dialog.entry.insert(0, "hunter2")
    dialog.ok.invoke()
    assert "127.0.0.2:2" in app.servers
    assert "127.0.0.1:1" not in app.servers


def test_join_without_nickname_says_what_is_missing(app: ChatApp) -> None:
    page = app.rooms_page
    page.nick.set("")
    page.join_button.invoke()
    assert page.problem.cget("text") == "Type a nickname: it is how others see you."
    page.nick.set("alice")
    page.join_button.invoke()
    assert page.status.cget("text") == "Pick a room in the list first, then press Join."


def test_manual_connect_checks_the_form(app: ChatApp) -> None:
    form = app.connect_page
    form.host.set("")
    form.connect_button.invoke()
    assert form.problem.cget("text").startswith("Type the host")
    form.host.set("127.0.0.1")
    form.port.set("99999")
    form.connect_button.invoke()
    assert form.problem.cget("text").startswith("The port must be a number from 1 to 65535")
    form.port.set("1")
    form.connect_button.invoke()
    assert form.problem.cget("text") == ""
    assert app.rooms_page.status.cget("text") == "Connecting to 127.0.0.1:1…"
    # nobody answers on port 1: a failed attempt is not offered again as a recent server
    run_until(app.root, lambda: bool(app.banner.message()), "the refusal")
    assert settings.load(app.settings_path).recent == ()
    assert "Nobody is answering at 127.0.0.1:1" in app.banner.message()


def test_input_history_and_completion_in_the_entry(app: ChatApp) -> None:
    joined_lobby(app)
    entry = app.input.entry
    focus(entry)
    for line in ("/help", "/frob"):
        app.input.entry.set_text(line)
        entry.event_generate("<Return>")
    lobby = view(app, "#lobby")
    assert "/join #room [key] — join a room" in lobby.contents()
    assert lobby.contents().endswith("/frob is not a command here; type /help for the list")
    entry.event_generate("<Up>")
    assert app.input.entry.get_text() == "/frob"
    entry.event_generate("<Up>")
    assert app.input.entry.get_text() == "/help"
    entry.event_generate("<Down>")
    entry.event_generate("<Down>")
    assert app.input.entry.get_text() == ""
    app.input.entry.set_text("b")
    entry.event_generate("<Tab>")
    assert app.input.entry.get_text() == "bob: "


def test_theme_switch_recolours_and_is_remembered(app: ChatApp) -> None:
    joined_lobby(app)
    app.bar.theme_button.invoke()
    assert view(app, "#lobby").text.cget("background") == PALETTES["dark"].surface
    assert app.bar.theme_button.cget("text") == "Light theme"
    assert settings.load(app.settings_path).theme == "dark"


def test_close_tab_leaves_the_room(app: ChatApp) -> None:
    joined_lobby(app)
    app.bar.close_tab_button.invoke()
    assert "#lobby" not in tab_texts(app)


def test_closing_the_window_stops_the_network_thread(
    network: NetworkThread, tmp_path: Path
) -> None:
    with tk_root() as root:
        chat = ChatApp(root, network, Settings(nick="a"), settings_path=tmp_path / "s.json")
        chat.start()
        root.update()
        chat.close()
        assert not network.alive
        with pytest.raises(tk.TclError):
            root.winfo_exists()


def test_away_state_and_server_notices_are_shown(app: ChatApp) -> None:
    joined_lobby(app)
    post(
        app,
        ev.AwayChanged(SID, "alice", True, "lunch", True),
        ev.ServerNotice(SID, "bob is idle 5 minutes"),  # a /whois reply
    )
    lobby = view(app, "#lobby")
    run_until(app.root, lambda: "idle 5 minutes" in lobby.contents(), lobby.contents)
    assert "You are away: lunch" in lobby.contents()


def test_motd_and_lusers_stay_out_of_sight(app: ChatApp) -> None:
    app.servers[SID].state = "connecting"
    post(app, ev.ServerNotice(SID, "There are 3 users on 1 server"))
    post(app, ev.Registered(SID, "alice", "", "srv"))
    run_until(app.root, lambda: "Connected" in app.status.cget("text"), "registered")
    assert app.views == {}


def test_errors_about_an_unknown_connection_go_to_the_status_bar(app: ChatApp) -> None:
    post(app, ev.ServerError("elsewhere:1", "not-connected", "Not connected", "Connect first"))
    run_until(app.root, lambda: app.status.cget("text") == "Connect first", "status")


def test_unknown_events_are_ignored(app: ChatApp) -> None:
    post(app, object(), ev.Joined(SID, "#lobby", "alice", "", True))
    run_until(app.root, lambda: conversation_key(SID, "#lobby") in app.views, "#lobby")


def test_joining_a_room_already_open_just_shows_its_tab(app: ChatApp) -> None:
    joined_lobby(app)
    ad = RoomAd("#lobby", "pc1", 6667, addresses=("10.0.0.1",), instance="#lobby on pc1")
    post(app, RoomAdded(ad))
    page = app.rooms_page
    run_until(app.root, lambda: bool(page.shown_rows()), "the room row")
    app.tabs.select(page)
    page.select("#lobby on pc1")
    page.join_button.invoke()
    assert app.tabs.select() == str(view(app, "#lobby"))


def test_discovery_failure_is_explained_on_the_rooms_page(app: ChatApp) -> None:
    post(app, ev.ServerError("", "discovery", "mDNS is not available", "Rooms cannot be listed; "
                             "connect with host and port"))  # fmt: skip
    page = app.rooms_page
    run_until(app.root, lambda: "mDNS" in str(page.status.cget("text")), "the problem")
    assert page.status.cget("text") == (
        "mDNS is not available. Rooms cannot be listed; connect with host and port."
    )
