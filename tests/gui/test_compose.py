"""Composing in the message box (issue 15, "feel like a modern chat app"): Enter sends,
Shift+Enter starts a new line, the box grows with its text up to MAX_ROWS rows and shrinks
back once sent, pasted lines stay to be edited. Real Tk under Xvfb with real X keys
(xdotool); the messages go through a real `lanchat serve` to a second chat window and a plain
IRC client that takes draft/multiline, and through ngIRCd (which has no draft/multiline) as
separate lines."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from tkinter import ttk

import pytest

from lanchat.gui.access import find
from lanchat.gui.app import ChatApp
from lanchat.gui.chat import InputBar
from lanchat.gui.compose import MAX_ROWS, MessageBox
from lanchat.gui.theme import PALETTES, apply_theme
from lanchat.launcher.supervisor import HostedRoom
from tests.gui.conftest import chat_window
from tests.gui.test_chat_server import RawClient, party, party_of
from tests.gui.tk_support import focus, run_until, said_by, tk_root, xdotool
from tests.support import free_port

pytestmark = pytest.mark.gui


def message_box(root: object) -> MessageBox:
    box = find(root, "Message")  # type: ignore[arg-type]
    assert isinstance(box, MessageBox)
    return box


def height(box: MessageBox) -> int:
    return int(box.cget("height"))


def test_shift_enter_starts_a_line_and_the_box_grows_then_scrolls_and_shrinks() -> None:
    sent: list[str] = []
    with tk_root() as root:
        root.geometry("600x300")
        bar = InputBar(root, PALETTES["dark"], sent.append, lambda: ["bob"])
        bar.pack(side="bottom", fill="x")
        box = message_box(root)
        focus(box)
        assert height(box) == 1
        assert box.placeholder_text() == ""  # none given here; the window names the room
        xdotool(box, "type", "line 1")
        for i in range(2, MAX_ROWS + 3):
            xdotool(box, "key", "shift+Return")
            xdotool(box, "type", f"line {i}")
            assert height(box) == min(i, MAX_ROWS)
        assert sent == []  # Shift+Enter never sends
        assert box.get_text() == "\n".join(f"line {i}" for i in range(1, MAX_ROWS + 3))
        scroll = box.master.winfo_children()[0]
        assert scroll.winfo_manager() == "pack"  # taller than the box: it scrolls
        assert box.bbox("insert") is not None  # and the line typed is in view
        # Up moves within the text; only on the top row does it recall what was sent
        xdotool(box, "key", "Up")
        assert box.get_text().endswith(f"line {MAX_ROWS + 2}")
        assert box.cursor() < len(box.get_text())
        xdotool(box, "key", "Return")
        assert sent == ["\n".join(f"line {i}" for i in range(1, MAX_ROWS + 3))]
        root.update()
        assert box.get_text() == ""
        assert height(box) == 1  # shrunk back
        assert not scroll.winfo_manager()
        box.set_text("a long line that wraps " * 12)  # wrapped rows count too
        root.update()
        assert 1 < height(box) <= MAX_ROWS
        xdotool(box, "key", "ctrl+a")
        assert box.get("sel.first", "sel.last") == box.get_text()
        xdotool(box, "key", "BackSpace")
        assert box.get_text() == ""
        assert height(box) == 1


def _drawn(label: ttk.Label, option: str) -> str:
    """The colour a ttk label is drawn in: its own option if it has one, else its style's."""
    return str(label.cget(option)) or str(ttk.Style(label).lookup(label.cget("style"), option))


def test_the_theme_colours_the_box_and_its_placeholder() -> None:
    with tk_root() as root:
        light, dark = apply_theme(root, "light"), PALETTES["dark"]
        bar = InputBar(root, light, lambda _t: None, list)
        box = message_box(root)
        box.set_placeholder("Message #lobby")
        assert box.cget("background") == light.field
        assert _drawn(box.placeholder, "foreground") == light.muted  # not like typed text
        bar.apply_palette(apply_theme(root, "dark"))
        root.update()  # the theme change reaches the widgets as an event
        assert (box.cget("background"), box.cget("foreground")) == (dark.field, dark.fg)
        assert _drawn(box.placeholder, "foreground") == dark.muted
        assert _drawn(box.placeholder, "background") == dark.field


@pytest.fixture
def bob_app(tmp_path: Path) -> Iterator[ChatApp]:
    """A second chat window, for bob."""
    with chat_window(tmp_path / "bob", "bob") as chat:
        yield chat


def multiline_listener(port: int) -> RawClient:
    """carol, in #party with a plain IRC client that takes draft/multiline batches."""
    carol = RawClient(port, "carol")
    carol.send("CAP REQ :batch draft/multiline message-tags", "CAP END", "JOIN #party")
    carol.wait_for(" 366 ")
    return carol


def test_two_typed_lines_go_as_one_multiline_message(
    app: ChatApp, bob_app: ChatApp, room: HostedRoom
) -> None:
    carol = multiline_listener(room.port)
    bob_app.connect("127.0.0.1", room.port, "bob", rooms=("#party",))
    bobs = party(bob_app, room.port)
    app.connect("127.0.0.1", room.port, "alice", rooms=("#party",))
    view = party(app, room.port)
    run_until(app.root, lambda: "alice (127.0.0.1) joined." in bobs.contents(), bobs.contents)
    box = message_box(app.root)
    assert box.placeholder_text() == "Message #party"
    focus(box)
    xdotool(box, "type", "first line")
    xdotool(box, "key", "shift+Return")
    xdotool(box, "type", "second line")
    assert height(box) == 2
    assert box.placeholder_text() == ""
    xdotool(box, "key", "Return")
    assert height(box) == 1
    assert box.placeholder_text() == "Message #party"
    run_until(app.root, lambda: carol.saw("BATCH -"), lambda: str(carol.lines[-5:]))
    batch = [line for line in carol.lines if "BATCH" in line or "PRIVMSG #party" in line]
    assert "BATCH +" in batch[0] and "draft/multiline #party" in batch[0]
    assert [line.rsplit(" :", 1)[1] for line in batch[1:3]] == ["first line", "second line"]
    assert all("@batch=" in line for line in batch[1:3]) and "BATCH -" in batch[3]
    # the other window shows one message of two rows, under alice's name
    run_until(app.root, lambda: "second line" in bobs.contents(), bobs.contents)
    assert "first line\nsecond line" in bobs.contents()
    assert said_by(bobs.contents(), "first line") == "alice"
    run_until(app.root, lambda: "second line" in view.contents(), view.contents)
    assert "first line\nsecond line" in view.contents()
    assert said_by(view.contents(), "first line") == "You"
    carol.close()


def test_pasted_lines_stay_to_be_edited_then_go_as_one_message(
    app: ChatApp, room: HostedRoom
) -> None:
    carol = multiline_listener(room.port)
    app.connect("127.0.0.1", room.port, "alice", rooms=("#party",))
    view = party(app, room.port)
    run_until(app.root, lambda: "You joined #party." in view.contents(), view.contents)
    box = message_box(app.root)
    focus(box)
    app.root.clipboard_clear()
    app.root.clipboard_append("roses are red\nviolets are blue\nsugar is sweet")
    box.event_generate("<<Paste>>")
    app.root.update()
    assert box.get_text() == "roses are red\nviolets are blue\nsugar is sweet"
    assert height(box) == 3
    xdotool(box, "type", " and so are you")  # the cursor is after what was pasted
    assert not carol.saw("roses")  # nothing is sent before Enter
    xdotool(box, "key", "Return")
    run_until(app.root, lambda: carol.saw("BATCH -"), lambda: str(carol.lines[-5:]))
    said = [line.rsplit(" :", 1)[1] for line in carol.lines if "PRIVMSG #party" in line]
    assert said == ["roses are red", "violets are blue", "sugar is sweet and so are you"]
    assert box.get_text() == ""
    run_until(app.root, lambda: "sugar is sweet and so are you" in view.contents(), view.contents)
    carol.close()


@pytest.fixture
def ngircd(tmp_path: Path) -> Iterator[int]:
    """ngIRCd on 127.0.0.1 (an IRC server without draft/multiline); yields its port."""
    port = free_port()
    conf = tmp_path / "ngircd.conf"
    conf.write_text(
        "[Global]\nName = irc.test\nInfo = test\nListen = 127.0.0.1\n"
        f"Ports = {port}\nPidFile = {tmp_path / 'ngircd.pid'}\n"
        "[Limits]\nMaxConnectionsIP = 0\n"
        "[Options]\nPAM = no\nIdent = no\nDNS = no\n"
    )
    proc = subprocess.Popen(
        ["ngircd", "--nodaemon", "--config", str(conf)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    try:
        said = []  # it logs to stdout; "ready." once it listens
        while not (said and "ready." in said[-1]):
            line = proc.stdout.readline()
            assert line, f"ngircd stopped: {''.join(said)}"
            said.append(line)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_without_multiline_the_lines_go_one_by_one(app: ChatApp, ngircd: int) -> None:
    carol = RawClient(ngircd, "carol")
    carol.send("JOIN #party")
    carol.wait_for(" 366 ")
    app.connect("127.0.0.1", ngircd, "alice", rooms=("#party",))
    view = party_of(app, ngircd, "#party")
    run_until(app.root, lambda: "carol" in " ".join(view.member_rows()), view.member_rows)
    box = message_box(app.root)
    focus(box)
    xdotool(box, "type", "first line")
    xdotool(box, "key", "shift+Return")
    xdotool(box, "type", "second line")
    xdotool(box, "key", "Return")
    run_until(app.root, lambda: carol.saw("second line"), lambda: str(carol.lines[-5:]))
    said = [line for line in carol.lines if "PRIVMSG #party" in line]
    assert [line.rsplit(" :", 1)[1] for line in said] == ["first line", "second line"]
    assert not carol.saw("BATCH")
    run_until(app.root, lambda: "second line" in view.contents(), view.contents)
    carol.close()
