"""The chat window against a real `lanchat serve` on 127.0.0.1 (started by the launcher's
supervisor), with a plain IRC client as the other person."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from lanchat.client.bridge import NetworkThread
from lanchat.gui.access import find
from lanchat.gui.app import ChatApp
from lanchat.gui.chat import ConversationView
from lanchat.gui.dialogs import KeyDialog
from lanchat.gui.placeholder import PlaceholderEntry
from lanchat.gui.settings import Settings
from lanchat.gui.viewmodel import RoomRow, conversation_key
from lanchat.launcher.supervisor import HostedRoom, RoomReady, RoomStopped, Supervisor
from tests.gui.tk_support import focus, run_until, said_by, tk_root
from tests.support import free_port

pytestmark = pytest.mark.gui


class RawClient:
    """A plain IRC connection whose received lines are collected by a reader thread."""

    def __init__(self, port: int, nick: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.lines: list[str] = []
        self._arrived = threading.Condition()  # notified on every received line
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.send(f"NICK {nick}", f"USER {nick} 0 * :{nick}")

    def send(self, *lines: str) -> None:
        self.sock.sendall("".join(f"{line}\r\n" for line in lines).encode())

    def _read(self) -> None:
        buf = b""
        while chunk := self._recv():
            buf += chunk
            *done, buf = buf.split(b"\r\n")
            for raw in done:
                line = raw.decode("utf-8", "replace")
                if line.startswith("PING"):
                    self.send("PONG" + line[4:])
                with self._arrived:
                    self.lines.append(line)
                    self._arrived.notify_all()

    def _recv(self) -> bytes:
        try:
            return self.sock.recv(65536)
        except OSError:
            return b""

    def saw(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def wait_for(self, text: str, timeout_s: float = 20.0) -> None:
        """Block until a received line contains `text` (for tests without a Tk loop)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: self.saw(text), timeout_s):
                raise AssertionError(
                    f"no line with {text!r} within {timeout_s}s: {self.lines[-5:]}"
                )

    def close(self) -> None:
        self.sock.close()


def party(app: ChatApp, port: int) -> ConversationView:
    return party_of(app, port, "#party")


def party_of(app: ChatApp, port: int, room: str) -> ConversationView:
    key = conversation_key(f"127.0.0.1:{port}", room)
    run_until(app.root, lambda: key in app.views, f"the {room} tab")
    return app.views[key]


def test_two_people_talk_and_see_each_others_address(app: ChatApp, room: HostedRoom) -> None:
    form = app.connect_page
    form.host.set("127.0.0.1")
    form.port.set(str(room.port))
    form.room.set("party")
    form.connect_button.invoke()
    view = party(app, room.port)
    run_until(app.root, lambda: view.member_rows() == ["@alice (you)"], view.member_rows)
    assert app.settings.recent == (f"127.0.0.1:{room.port}",)  # it worked: remembered
    bob = RawClient(room.port, "bob")
    bob.send("JOIN #party")
    run_until(app.root, lambda: "bob (127.0.0.1) joined." in view.contents(), view.contents)
    bob.send("PRIVMSG #party :hi alice 👋")
    run_until(app.root, lambda: "hi alice" in view.contents(), view.contents)
    assert said_by(view.contents(), "hi alice 👋") == "bob"
    assert "highlight" in view.text.tag_names(view.text.search("hi alice", "1.0"))
    focus(app.input.entry)
    for line in ("hello bob, ünïcode ok", "/me waves"):
        app.input.entry.set_text(line)
        app.input.entry.event_generate("<Return>")
    run_until(app.root, lambda: bob.saw("ACTION waves"), lambda: str(bob.lines[-5:]))
    assert bob.saw("PRIVMSG #party :hello bob, ünïcode ok")
    run_until(app.root, lambda: "* alice waves" in view.contents(), view.contents)
    assert said_by(view.contents(), "hello bob, ünïcode ok") == "You"
    assert (
        sorted(view.member_rows()) == ["alice (you)", "bob"] or "@alice (you)" in view.member_rows()
    )
    bob.close()


def test_history_is_shown_on_join(app: ChatApp, room: HostedRoom) -> None:
    bob = RawClient(room.port, "bob")
    bob.send("JOIN #party", "PRIVMSG #party :said before you came")
    run_until(app.root, lambda: bob.saw(" 366 "), lambda: str(bob.lines))
    app.connect("127.0.0.1", room.port, "alice", rooms=("#party",))
    view = party(app, room.port)
    run_until(app.root, lambda: "said before you came" in view.contents(), view.contents)
    bob.close()


def test_nick_in_use_is_explained(app: ChatApp, room: HostedRoom) -> None:
    bob = RawClient(room.port, "bob")
    run_until(app.root, lambda: bob.saw(" 001 "), lambda: str(bob.lines))
    app.connect("127.0.0.1", room.port, "alice", rooms=("#party",))
    view = party(app, room.port)
    focus(app.input.entry)
    app.input.entry.set_text("/nick bob")
    app.input.entry.event_generate("<Return>")
    run_until(app.root, lambda: bool(app.banner.message()), "a banner")
    assert "taken" in app.banner.message().lower()
    assert "Traceback" not in view.contents()
    bob.close()


def test_server_going_away_shows_reconnecting(app: ChatApp, tmp_path: Path) -> None:
    sup = Supervisor(data_root=tmp_path / "h", serve_args=["--host", "127.0.0.1", "--no-mdns"])
    hosted = sup.start("#party")
    assert isinstance(sup.events.get(timeout=20), RoomReady)
    app.connect("127.0.0.1", hosted.port, "alice", rooms=("#party",))
    view = party(app, hosted.port)
    run_until(app.root, lambda: view.member_rows() == ["@alice (you)"], view.member_rows)
    sup.stop_all()
    run_until(
        app.root, lambda: "retrying" in app.status.cget("text"), lambda: app.status.cget("text")
    )
    assert app.status.cget("text").startswith(f"Connection to 127.0.0.1:{hosted.port} lost")


def test_gap_after_a_server_restart_is_filled_once(tmp_path: Path) -> None:
    port = free_port()
    sup = Supervisor(data_root=tmp_path / "h", serve_args=["--host", "127.0.0.1", "--no-mdns"])
    hosted = sup.start("#party", port=port)
    assert isinstance(sup.events.get(timeout=20), RoomReady)
    # a long backoff, so the gap is certain; "Retry now" ends it when the test is ready
    net = NetworkThread(browse=False, backoff_initial_s=60)
    net.start()
    try:
        with tk_root() as root:
            app = ChatApp(root, net, Settings(nick="alice"), settings_path=tmp_path / "s.json")
            app.start()
            app.connect("127.0.0.1", port, "alice", rooms=("#party",))
            view = party(app, port)
            bob = RawClient(port, "bob")
            bob.send("JOIN #party", "PRIVMSG #party :before the restart")
            run_until(app.root, lambda: "before the restart" in view.contents(), view.contents)
            bob.close()
            sup.stop(hosted)
            assert isinstance(sup.events.get(timeout=20), RoomStopped)
            run_until(app.root, lambda: "retrying" in app.status.cget("text"), "retry status")
            assert app.retry_button.winfo_manager() == "pack"
            hosted = sup.start("#party", port=port)  # same data directory: same history
            assert isinstance(sup.events.get(timeout=20), RoomReady)
            bob = RawClient(port, "bob")
            # PONG comes after the message is stored (a Send after a Persist waits for it)
            bob.send("JOIN #party", "PRIVMSG #party :during the gap", "PING :stored")
            bob.wait_for("PONG")
            app.retry_button.invoke()
            run_until(app.root, lambda: "during the gap" in view.contents(), view.contents)
            assert view.contents().count("before the restart") == 1
            assert view.contents().count("during the gap") == 1
            assert app.retry_button.winfo_manager() == ""
            bob.close()
            app.close()
    finally:
        net.stop()
        sup.stop_all()


def test_private_messages_open_a_tab_both_ways(app: ChatApp, room: HostedRoom) -> None:
    app.connect("127.0.0.1", room.port, "alice", rooms=("#party",))
    party(app, room.port)
    bob = RawClient(room.port, "bob")
    bob.wait_for(" 001 ")
    bob.send("PRIVMSG alice :psst, got a minute?")
    key = conversation_key(f"127.0.0.1:{room.port}", "bob")
    run_until(app.root, lambda: key in app.views, "bob's tab")
    assert said_by(app.views[key].contents(), "psst, got a minute?") == "bob"
    titles = [app.tabs.tab(t, "text") for t in app.tabs.tabs()]
    assert "bob (1!)" in titles
    app.show_tab(app.model.conversations[key])
    focus(app.input.entry)
    app.input.entry.set_text("sure, what's up?")
    app.input.entry.event_generate("<Return>")
    bob.wait_for("PRIVMSG bob :sure, what's up?")
    run_until(
        app.root,
        lambda: said_by(app.views[key].contents(), "sure, what's up?") == "You",
        "own line",
    )
    bob.close()


def test_wrong_room_key_asks_again_without_an_orphan_tab(app: ChatApp, tmp_path: Path) -> None:
    sup = Supervisor(data_root=tmp_path / "k", serve_args=["--host", "127.0.0.1", "--no-mdns"])
    hosted = sup.start("#secret", key="hunter2")
    try:
        assert isinstance(sup.events.get(timeout=20), RoomReady)
        row = RoomRow("s", "#secret", "pc", hosted.port, 0, "", True, ("127.0.0.1",))
        app.joins.join_room(row, "alice")
        first = key_dialog(app)
        first.entry.insert(0, "nope")
        first.ok.invoke()
        run_until(app.root, lambda: key_dialog(app) is not None, "the key asked again")
        again = key_dialog(app)
        assert again is not None and again.problem.cget("text").startswith("That key didn't")
        assert app.banner.message() == ""
        assert app.views == {}  # no server tab nor room tab for a join that failed
        again.entry.insert(0, "hunter2")
        again.ok.invoke()
        view = party_of(app, hosted.port, "#secret")
        run_until(app.root, lambda: "You joined #secret" in view.contents(), view.contents)
    finally:
        sup.stop_all()


def key_dialog(app: ChatApp) -> KeyDialog | None:
    found = [w for w in app.root.winfo_children() if isinstance(w, KeyDialog) and w.winfo_exists()]
    return found[-1] if found else None


def test_a_pasted_block_is_one_message_live_and_in_history(app: ChatApp, room: HostedRoom) -> None:
    bob = RawClient(room.port, "bob")
    bob.send("CAP REQ :batch draft/multiline message-tags", "JOIN #party")
    bob.wait_for(" 366 ")
    bob.send(
        "BATCH +b draft/multiline #party",
        "@batch=b PRIVMSG #party :roses are red",
        "@batch=b PRIVMSG #party :violets are blue",
        "BATCH -b",
        "PING :stored",  # answered after the message is stored
    )
    bob.wait_for("PONG")
    app.connect("127.0.0.1", room.port, "alice", rooms=("#party",))
    view = party(app, room.port)
    poem = "roses are red\nviolets are blue"
    run_until(app.root, lambda: poem in view.contents(), view.contents)
    assert said_by(view.contents(), "roses are red") == "bob"
    focus(app.input.entry)
    app.root.clipboard_clear()
    app.root.clipboard_append("first pasted line\nsecond pasted line\n")
    app.input.entry.event_generate("<<Paste>>")
    app.input.entry.event_generate("<Return>")
    run_until(app.root, lambda: bob.saw("BATCH -"), lambda: str(bob.lines[-5:]))
    assert bob.saw("draft/multiline #party") and bob.saw("PRIVMSG #party :second pasted line")
    pasted = "first pasted line\nsecond pasted line"
    run_until(app.root, lambda: pasted in view.contents(), view.contents)
    assert said_by(view.contents(), "first pasted line") == "You"
    assert view.contents().count("second pasted line") == 1
    bob.close()


def test_deleting_own_message_from_its_menu_removes_it_for_everyone(
    app: ChatApp, room: HostedRoom
) -> None:
    app.connect("127.0.0.1", room.port, "alice", rooms=("#party",))
    view = party(app, room.port)
    bob = RawClient(room.port, "bob")
    bob.send("CAP REQ :message-tags draft/message-redaction", "JOIN #party")
    run_until(app.root, lambda: "bob (127.0.0.1) joined." in view.contents(), view.contents)
    bob.send("PRIVMSG #party :bob's line stays")
    focus(app.input.entry)
    app.input.entry.set_text("oops, wrong room")
    app.input.entry.event_generate("<Return>")
    run_until(app.root, lambda: "oops, wrong room" in view.contents(), view.contents)
    run_until(app.root, lambda: "bob's line stays" in view.contents(), view.contents)
    assert view.own_msgid_at(view.text.search("bob's line stays", "1.0")) == ""
    mine = view.text.search("oops, wrong room", "1.0")
    view.text.see(mine)
    x, y, _w, _h = view.text.bbox(mine)
    view.text.event_generate("<Button-3>", x=x + 2, y=y + 2)
    assert view.menu.entrycget(0, "label") == "Delete message"
    view.menu.invoke("Delete message")
    view.menu.unpost()
    run_until(app.root, lambda: bob.saw("REDACT #party"), lambda: str(bob.lines[-5:]))
    run_until(app.root, lambda: "oops" not in view.contents(), view.contents)
    assert said_by(view.contents(), "message deleted") == "You"  # the server's REDACT did it
    bob.close()


def _time_of(client: RawClient, text: str) -> str:
    """The server-time tag of the line `client` received with `text`."""
    line = next(line for line in client.lines if text in line)
    return line.split("time=")[1].split(";")[0].split(" ")[0]


def test_read_markers_are_shared_with_the_accounts_other_connection(
    app: ChatApp, room: HostedRoom
) -> None:
    carol = RawClient(room.port, "carol")  # the same person's phone, logged in to "carol"
    carol.send("CAP REQ :message-tags server-time draft/read-marker")
    carol.wait_for(" 001 ")
    carol.send("REGISTER * * :wonderland", "JOIN #party")
    carol.wait_for("REGISTER SUCCESS", timeout_s=30)
    carol.wait_for(" 366 ")
    bob = RawClient(room.port, "bob")
    bob.send("JOIN #party", "PRIVMSG #party :read on the phone")
    carol.wait_for("read on the phone")
    read = _time_of(carol, "read on the phone")
    carol.send(f"MARKREAD #party timestamp={read}")
    carol.wait_for(f"MARKREAD #party timestamp={read}")
    time.sleep(0.002)  # the next message's server time is a later millisecond
    bob.send("PRIVMSG #party :not read yet")
    carol.wait_for("not read yet")
    sid = f"127.0.0.1:{room.port}"
    app.settings = app.settings.with_account(sid, "carol", "wonderland")
    app.connect("127.0.0.1", room.port, "alice", rooms=("#party", "#other"))
    view = party(app, room.port)
    other = party_of(app, room.port, "#other")  # joined last: its tab is in front
    conv = app.model.conversations[conversation_key(sid, "#party")]
    run_until(app.root, lambda: conv.unread == 1, view.contents)
    text = view.contents()
    assert text.index("read on the phone") < text.index("New messages") < text.index("not read")
    assert app.tabs.tab(view, "text") == "#party (1)"
    focus(app.input.entry)
    app.tabs.select(view)  # looked at, at the bottom: read up to the newest, on the phone too
    unread = _time_of(carol, "not read yet")
    run_until(app.root, lambda: carol.saw(f"MARKREAD #party timestamp={unread}"), carol.lines)
    app.tabs.select(other)
    bob.send("PRIVMSG #party :read on the phone later")
    run_until(app.root, lambda: conv.unread == 1, lambda: conv.unread)
    carol.wait_for("read on the phone later")
    carol.send(f"MARKREAD #party timestamp={_time_of(carol, 'read on the phone later')}")
    run_until(app.root, lambda: conv.unread == 0, lambda: conv.unread)
    run_until(app.root, lambda: app.tabs.tab(view, "text") == "#party", "no badge")
    assert "New messages" not in view.contents()
    bob.close()
    carol.close()


def test_searching_the_room_lists_hits_and_shows_one_in_context(
    app: ChatApp, room: HostedRoom
) -> None:
    bob = RawClient(room.port, "bob")
    said = ("the launch is at noon", "bring snacks", "launch moved to 2pm", "ok")
    bob.send("JOIN #party", *(f"PRIVMSG #party :{text}" for text in said), "PING :stored")
    bob.wait_for("PONG")
    app.connect("127.0.0.1", room.port, "alice", rooms=("#party",))
    view = party(app, room.port)
    run_until(app.root, lambda: "launch moved" in view.contents(), view.contents)
    panel = find(app.root, "Search this room").master
    assert panel is view.search
    field = find(view, "Search this room")
    focus(field)
    field.insert(0, "launch")
    field.event_generate("<Return>")
    rows = find(view, "Search results")
    run_until(app.root, lambda: len(view.search.result_rows()) == 2, view.search.result_rows)
    assert view.search.result_rows()[0].endswith("bob: the launch is at noon")
    assert rows.winfo_manager() == "pack"
    view.search.choose(1)  # loaded already: the transcript jumps to it
    run_until(app.root, lambda: view.found_text() == "launch moved to 2pm", view.found_text)
    assert view.contents().count("bring snacks") == 1  # nothing fetched or added again
    assert in_sight(view, "launch moved to 2pm")
    run_until(app.root, lambda: view.found_text() == "", "the highlight fades", timeout_s=10)
    field.delete(0, "end")
    field.insert(0, "nothing like this")
    field.event_generate("<Return>")
    run_until(app.root, lambda: "No messages" in str(view.search.result_rows()), "no hits")
    bob.close()


def in_sight(view: ConversationView, text: str) -> bool:
    """`text` is in the part of the transcript scrolled into view."""
    view.update_idletasks()
    at = view.text.search(text, "1.0")
    return bool(at) and view.text.bbox(at) is not None


def test_a_search_hit_not_loaded_is_fetched_with_its_context_and_jumped_to(
    app: ChatApp, tmp_path: Path
) -> None:
    config = tmp_path / "quick.toml"
    config.write_text("[flood]\nenabled = false\n")  # bob says 130 lines at once
    sup = Supervisor(
        data_root=tmp_path / "h",
        serve_args=["--host", "127.0.0.1", "--no-mdns", "--config", str(config)],
    )
    room = sup.start("#party")
    assert isinstance(sup.events.get(timeout=20), RoomReady)
    try:
        bob = RawClient(room.port, "bob")
        fillers = [f"PRIVMSG #party :filler {i}" for i in range(130)]
        bob.send("JOIN #party", "PRIVMSG #party :before the launch", "PRIVMSG #party :the launch")
        bob.send("PRIVMSG #party :after the launch", *fillers, "PING :stored")
        bob.wait_for("PONG")
        app.connect("127.0.0.1", room.port, "alice", rooms=("#party",))
        view = party(app, room.port)
        run_until(app.root, lambda: "filler 129" in view.contents(), view.contents)
        assert "the launch" not in view.contents()  # older than the history shown on join
        field = find(view, "Search this room")
        assert isinstance(field, PlaceholderEntry)
        assert field.placeholder_text() == "Search this room"
        focus(field)
        field.insert(0, "launch")
        assert field.placeholder_text() == ""
        field.event_generate("<Return>")
        run_until(app.root, lambda: len(view.search.result_rows()) == 3, view.search.result_rows)
        view.search.choose(1)
        run_until(app.root, lambda: view.found_text() == "the launch", view.found_text)
        text = view.contents()
        assert text.index("before the launch") < text.index("\nthe launch\n")
        assert text.index("\nthe launch\n") < text.index("after the launch")
        assert text.index("after the launch") < text.index("filler 129")
        assert text.count("filler 129") == 1 and text.count("after the launch") == 1
        assert in_sight(view, "before the launch") and in_sight(view, "after the launch")
        bob.close()
    finally:
        sup.stop_all()
