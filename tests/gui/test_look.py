"""What people expect of a chat app in 2026 (issue #15), with real Tk under Xvfb: real mouse
and keys through xdotool, controls found by their accessible names (lanchat.gui.access)."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Iterator
from pathlib import Path
from tkinter import ttk

import pytest

from lanchat.client import events as ev
from lanchat.client.bridge import NetworkThread, RoomAdded
from lanchat.discovery.records import RoomAd
from lanchat.gui.access import find, unnamed_controls
from lanchat.gui.app import ChatApp, _Server
from lanchat.gui.chat import ConversationView
from lanchat.gui.compose import MessageBox
from lanchat.gui.dialogs import KeyDialog
from lanchat.gui.settings import Settings
from lanchat.gui.theme import apply_theme, emoji_font, theme_engine
from lanchat.gui.viewmodel import conversation_key
from tests.gui.test_app import SID, joined_lobby, msg, post, tab_texts
from tests.gui.tk_support import focus, run_until, tk_root, xdotool

pytestmark = pytest.mark.gui


@pytest.fixture
def app(tmp_path: Path) -> Iterator[ChatApp]:
    net = NetworkThread(browse=False)
    net.start()
    root = tk.Tk(className="lanchat-test")
    root.geometry("900x600+0+0")
    chat = ChatApp(root, net, Settings(nick="alice"), settings_path=tmp_path / "s.json", bell=False)
    chat.servers[SID] = _Server("10.0.0.1", 6667, "alice", state="connected")
    chat.model.nicks[SID] = "alice"
    chat.model.connected.add(SID)
    chat.start()
    focus(root)
    yield chat
    chat.close()


def view(app: ChatApp, name: str) -> ConversationView:
    return app.views[conversation_key(SID, name)]


def test_every_control_has_an_accessible_name(app: ChatApp) -> None:
    joined_lobby(app)
    post(app, msg("psst", target="bob", private=True))
    post(app, ev.Disconnected(SID, "cable out", True, 5.0))
    run_until(app.root, lambda: bool(app.retry_button.winfo_manager()), "Retry now")
    app.banner.show("Something to act on.")
    app.rooms_page.toggle_manual()
    KeyDialog(app.root, "#secret", lambda _key: None)
    app.root.update()
    assert unnamed_controls(app.root) == []
    assert isinstance(find(app.root, "Retry every connection now"), ttk.Button)


def test_choosing_a_tab_puts_the_focus_in_the_message_box(app: ChatApp) -> None:
    joined_lobby(app)
    app.tabs.select(app.rooms_page)
    app.root.update()
    app.tabs.select(view(app, "#lobby"))
    app.root.update()
    box = find(app.root, "Message")
    assert app.root.focus_get() is box
    assert app.input.entry.placeholder_text() == "Message #lobby"
    assert isinstance(box, MessageBox)
    xdotool(box, "type", "hello there")
    run_until(
        app.root, lambda: app.input.entry.get_text() == "hello there", app.input.entry.get_text
    )
    assert app.input.entry.placeholder_text() == ""
    xdotool(box, "key", "ctrl+a")
    run_until(app.root, lambda: bool(box.tag_ranges("sel")), "the typed text selected")
    assert box.selection_get() == "hello there"


def test_new_messages_line_marks_the_first_unread_until_the_tab_is_left(app: ChatApp) -> None:
    joined_lobby(app)
    post(app, ev.Joined(SID, "#dev", "alice", "", True))
    run_until(app.root, lambda: "#dev" in tab_texts(app), "#dev in front")
    post(app, msg("first unread"), msg("second unread"))
    lobby = view(app, "#lobby")
    run_until(app.root, lambda: "second unread" in lobby.contents(), lobby.contents)
    rows = lobby.contents().splitlines()
    assert rows.index("New messages") < rows.index("first unread")
    assert rows.count("New messages") == 1
    app.tabs.select(lobby)
    app.root.update()
    assert "New messages" in lobby.contents()  # still there while it is read
    app.tabs.select(view(app, "#dev"))
    app.root.update()
    assert "New messages" not in lobby.contents()


def test_member_list_double_click_opens_a_private_chat(app: ChatApp) -> None:
    joined_lobby(app)
    people = find(view(app, "#lobby"), "People in this room")
    assert isinstance(people, ttk.Treeview)
    app.root.update()
    x, y, _w, h = people.bbox("0")  # type: ignore[misc]  # "@bob", the first row
    xdotool(people, "--at", str(x + 20), str(y + h // 2), "click", "--repeat", "2", "1")
    run_until(app.root, lambda: app.model.get(SID, "bob") is not None, "bob's tab")
    assert app.model.active == conversation_key(SID, "bob")


def test_member_menu_offers_moderation_to_operators_only(app: ChatApp) -> None:
    joined_lobby(app)  # alice is not an operator there
    members = view(app, "#lobby").members
    assert members is not None
    assert members.member_menu_labels() == ["Message", "Who is this?"]
    people = (ev.Member("alice", "@", "", False), ev.Member("bob", "", "10.0.0.7", False))
    post(app, ev.MembersChanged(SID, "#lobby", people))
    run_until(app.root, lambda: "@alice (you)" in members.member_rows(), members.member_rows)
    assert "Remove from room" in members.member_menu_labels()
    assert members.tooltip_text_for(members.member_rows().index("bob")) == "bob · 10.0.0.7"


def test_a_long_topic_is_shortened_with_a_tooltip(app: ChatApp) -> None:
    joined_lobby(app)
    topic = "Friday LAN party: slides, snacks and a tournament, " * 6
    post(app, ev.TopicChanged(SID, "#lobby", topic, "bob", 0, live=True))
    lobby = view(app, "#lobby")
    run_until(app.root, lambda: lobby.topic_text() == topic, "the topic")
    app.root.update()
    shown = str(lobby.topic.cget("text"))
    assert shown.endswith("…") and len(shown) < len(topic)
    lobby.topic_tip.show_at(10, 5)
    assert lobby.topic_tip.text == topic


def test_one_start_page_with_the_table_saying_when_it_is_empty(app: ChatApp) -> None:
    page = app.rooms_page
    assert tab_texts(app) == ["Rooms"]
    assert page.empty_text().startswith("Looking for rooms on your network")
    find(app.root, "Connect by address…").invoke()  # type: ignore[attr-defined]
    app.root.update()
    assert find(app.root, "Host or address").winfo_ismapped()
    ad = RoomAd("#lobby", "pc1", 6667, addresses=("10.0.0.1",), instance="lobby on pc1")
    post(app, RoomAdded(ad))
    run_until(app.root, lambda: bool(page.shown_rows()), "the row")
    assert page.empty_text() == ""
    app.joins.join_room(page.model.rows["lobby on pc1"], "alice")
    assert page.status.cget("text") == "Joining #lobby…"
    assert page.progress.winfo_manager() == "pack"
    joined_lobby(app)
    run_until(app.root, lambda: page.shown_rows()[0][0] == "✓ #lobby", page.shown_rows)
    assert page.progress.winfo_manager() == ""


def test_cancelling_the_key_of_a_locked_room_ends_the_progress(app: ChatApp) -> None:
    ad = RoomAd("#dev", "pc2", 1, key_required=True, addresses=("10.0.0.2",), instance="d")
    post(app, RoomAdded(ad))
    page = app.rooms_page
    run_until(app.root, lambda: bool(page.shown_rows()), "the row")
    app.joins.join_room(page.model.rows["d"], "alice")
    assert page.progress.winfo_manager() == "pack"
    dialog = next(w for w in app.root.winfo_children() if isinstance(w, KeyDialog))
    find(dialog, "Cancel").invoke()  # type: ignore[attr-defined]
    assert page.progress.winfo_manager() == ""
    assert app.servers == {SID: app.servers[SID]}  # nothing was connected


@pytest.mark.parametrize("name", ["light", "dark"])
def test_sun_valley_draws_both_themes_and_clam_stands_in(name: str) -> None:
    with tk_root() as root:
        pal = apply_theme(root, name)
        assert theme_engine(root) == "sun-valley"
        assert ttk.Style(root).theme_use() == f"sun-valley-{name}"
        assert ttk.Style(root).lookup("Muted.TLabel", "foreground") == pal.muted
        # ...and a label of that style is drawn so, also after sv-ttk's palette has recoloured
        # the widgets at the theme change (its colours used to override the label's style)
        muted = ttk.Label(root, text="3 people", style="Muted.TLabel")
        root.update()
        assert str(muted.cget("foreground")) == str(muted.cget("background")) == ""
        # scripts/test installs fonts-noto-color-emoji: emoji are drawn in colour with it
        emoji = emoji_font(root)
        assert emoji is not None and emoji.actual("family") == "Noto Color Emoji"
        apply_theme(root, name, sun_valley=False)
        assert theme_engine(root) == "clam"
        assert ttk.Style(root).lookup("TButton", "background") == pal.surface
