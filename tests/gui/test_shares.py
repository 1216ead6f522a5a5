"""Sending a file from the chat window to a real `lanchat serve` (issue 21): the "Send a
file…" button and its dialog, a pasted file, the progress bar and its Cancel."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path
from tkinter import ttk

import pytest

from lanchat.gui.access import find
from lanchat.gui.app import ChatApp
from lanchat.gui.shares import ShareBar, file_from_clipboard
from lanchat.launcher.supervisor import HostedRoom
from tests.gui.test_chat_server import RawClient, party
from tests.gui.tk_support import focus, run_until, tk_root

pytestmark = pytest.mark.gui


def test_only_a_pasted_existing_file_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "été photo.png"
    f.write_bytes(b"x")
    assert file_from_clipboard(f"  {f}\n") == f
    assert file_from_clipboard("file://" + str(f).replace(" ", "%20").replace("é", "%C3%A9")) == f
    for text in ("hello", str(tmp_path), f"{f}\n{f}", "photo.png", str(f) + ".gone", ""):
        assert file_from_clipboard(text) is None


def test_the_share_bar_shows_each_upload_until_it_ends() -> None:
    cancelled: list[int] = []
    with tk_root() as root:
        below = ttk.Frame(root)
        below.pack(side="bottom")
        bar = ShareBar(root, below, cancelled.append)
        assert not bar.winfo_manager()
        bar.add(1, "a.png")
        bar.add(2, "b.pdf")
        assert bar.winfo_manager()
        bar.progress(1, 250, 1000)
        assert float(bar.rows[1].bar.cget("value")) == 250.0
        find(root, "Cancel b.pdf").invoke()  # type: ignore[attr-defined]
        assert cancelled == [2]
        bar.remove(1)
        bar.remove(2)
        assert not bar.rows and not bar.winfo_manager()


def _joined(app: ChatApp, room: HostedRoom) -> RawClient:
    app.connect("127.0.0.1", room.port, "alice", rooms=("#party",))
    view = party(app, room.port)
    run_until(app.root, lambda: view.member_rows() == ["@alice (you)"], view.member_rows)
    bob = RawClient(room.port, "bob")
    bob.send("JOIN #party")
    bob.wait_for(" 366 ")
    return bob


def _link(bob: RawClient, name: str) -> str:
    line = next(line for line in bob.lines if f"ACTION shared {name}" in line)
    return line.rsplit(" ", 1)[1].rstrip("\x01")


def test_a_pasted_file_is_sent_and_its_link_posted(
    app: ChatApp,
    room: HostedRoom,
    tmp_path: Path,
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(os.urandom(300_000))
    bob = _joined(app, room)
    app.root.clipboard_clear()
    app.root.clipboard_append(str(photo))
    focus(app.input.entry)
    app.input.entry.event_generate("<<Paste>>")
    assert app.input.var.get() == ""  # sent, not pasted as text
    run_until(app.root, lambda: bob.saw("ACTION shared photo.png (300.0 kB): http://"), bob.lines)
    run_until(app.root, lambda: not app.shares.rows, "the progress row to go")
    with urllib.request.urlopen(_link(bob, "photo.png"), timeout=10) as got:
        assert got.read() == photo.read_bytes()
    app.root.clipboard_clear()
    app.root.clipboard_append("just words")
    app.input.entry.event_generate("<<Paste>>")
    assert app.input.var.get() == "just words"
    bob.close()


def test_the_send_a_file_button_asks_which_and_cancel_stops_it(
    app: ChatApp,
    room: HostedRoom,
    tmp_path: Path,
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(90 << 20))  # under the 100 MiB limit, slow enough to cancel
    bob = _joined(app, room)

    def choose() -> None:  # the Tk file dialog (Tcl's own on X11): type the path, press Open
        dialog = ".__tk_filedialog.contents.f2"
        app.root.tk.eval(f"{dialog}.ent delete 0 end; {dialog}.ent insert 0 {{{big}}}")
        app.root.tk.eval(f"{dialog}.ok invoke")

    app.root.after(500, choose)
    find(app.root, "Send a file").invoke()  # type: ignore[attr-defined]
    run_until(app.root, lambda: bool(app.shares.rows), "the progress row")
    find(app.root, "Cancel big.bin").invoke()  # type: ignore[attr-defined]
    run_until(app.root, lambda: not app.shares.rows, "the row to go")
    assert os.listdir(room.data_dir / "files" / "kept") == []  # stopped before it was whole
    assert not bob.saw("ACTION shared")
    bob.close()
