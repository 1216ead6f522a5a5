"""Sending a file from the chat window to a real `lanchat serve` (issue 21): the "Send a
file…" button and its dialog, a pasted file, the progress bar and its Cancel."""

from __future__ import annotations

import os
import subprocess
import sys
import tkinter as tk
import urllib.request
from pathlib import Path
from tkinter import ttk

import pytest
from PIL import Image

from lanchat.client.events import FetchThumbnail, GuiCommand, ThumbnailReady
from lanchat.gui.access import controls, find, name_of
from lanchat.gui.app import ChatApp
from lanchat.gui.lines import format_message
from lanchat.gui.shares import ShareBar, file_from_clipboard
from lanchat.gui.thumbs import THUMBNAIL_TAG, Previews
from lanchat.launcher.supervisor import HostedRoom
from tests.gui.test_chat_server import RawClient, party
from tests.gui.tk_support import focus, run_until, tk_root
from tests.web.filehost import png

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


def _paste_a_file(app: ChatApp, bob: RawClient, tmp_path: Path) -> None:
    """Paste a file's path into the message line: it is sent and bob gets its link."""
    photo = tmp_path / "photo.png"
    photo.write_bytes(os.urandom(300_000))
    app.root.clipboard_clear()
    app.root.clipboard_append(str(photo))
    focus(app.input.entry)
    app.input.entry.event_generate("<<Paste>>")
    assert app.input.entry.get_text() == ""  # sent, not pasted as text
    run_until(app.root, lambda: bob.saw("ACTION shared photo.png (300.0 kB): http://"), bob.lines)
    run_until(app.root, lambda: not app.shares.rows, "the progress row to go")
    with urllib.request.urlopen(_link(bob, "photo.png"), timeout=10) as got:
        assert got.read() == photo.read_bytes()


def test_a_pasted_file_is_sent_and_its_link_posted(
    app: ChatApp,
    room: HostedRoom,
    tmp_path: Path,
) -> None:
    bob = _joined(app, room)
    _paste_a_file(app, bob, tmp_path)
    app.root.clipboard_clear()
    app.root.clipboard_append("just words")
    app.input.entry.event_generate("<<Paste>>")
    assert app.input.entry.get_text() == "just words"
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


def test_a_file_dropped_from_another_program_is_sent_and_its_link_posted(
    app: ChatApp,
    room: HostedRoom,
    tmp_path: Path,
) -> None:
    """A real XDND drag from another process (tests/gui/xdnd_source.py, as a file manager
    drags), made by a real mouse (xdotool) on Xvfb, dropped on the chat window."""
    notes = tmp_path / "notes and plans.txt"
    notes.write_bytes(os.urandom(20_000))
    assert app.takes_drops
    bob = _joined(app, room)
    focus(app.input.entry)
    source = subprocess.Popen(
        [sys.executable, "-m", "tests.gui.xdnd_source", "1100", "40", str(notes), str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert source.stdout is not None
    ready = source.stdout.readline().split()
    assert ready[0] == "ready", ready
    target_x = app.root.winfo_rootx() + app.root.winfo_width() // 2
    target_y = app.root.winfo_rooty() + app.root.winfo_height() // 2
    mouse = subprocess.Popen(
        ["xdotool", "mousemove", "--sync", ready[1], ready[2], "sleep", "0.2", "mousedown", "1",
         "sleep", "0.2", "mousemove", str(target_x + 100), str(target_y), "sleep", "0.3",
         "mousemove", str(target_x), str(target_y), "sleep", "0.5", "mouseup", "1"],
    )  # fmt: skip
    run_until(app.root, lambda: mouse.poll() is not None and source.poll() is not None,
              "the drag to end")  # fmt: skip
    assert source.stdout.read().split() == ["finished", "XdndActionCopy"]
    run_until(app.root, lambda: bob.saw("ACTION shared notes and plans.txt (20.0 kB): http://"),
              bob.lines)  # fmt: skip
    with urllib.request.urlopen(_link(bob, "notes and plans.txt"), timeout=10) as got:
        assert got.read() == notes.read_bytes()
    assert tmp_path.name in app.status.cget("text")  # the folder dropped with it: not sent
    bob.close()


@pytest.fixture
def no_tkdnd(monkeypatch: pytest.MonkeyPatch) -> None:
    """tkinterdnd2 cannot be imported (as where it is not installed) for the windows made."""
    monkeypatch.setitem(sys.modules, "tkinterdnd2", None)


@pytest.mark.usefixtures("no_tkdnd")
def test_without_the_tkdnd_extension_a_pasted_file_is_still_sent(
    app: ChatApp,
    room: HostedRoom,
    tmp_path: Path,
) -> None:
    assert not app.takes_drops
    assert find(app.root, "Send a file").winfo_exists()
    bob = _joined(app, room)
    _paste_a_file(app, bob, tmp_path)
    bob.close()


def _image_size(button: tk.Misc) -> tuple[int, int]:
    [image] = button.tk.splitlist(button.tk.call(str(button), "cget", "-image"))
    return int(button.tk.call("image", "width", image)), int(
        button.tk.call("image", "height", image)
    )


def test_shared_images_are_previewed_under_their_line_and_open_when_pressed(
    app: ChatApp,
    room: HostedRoom,
    tmp_path: Path,
) -> None:
    """A PNG pasted by alice and a JPEG that bob uploads himself (FILEHOST token, HTTP POST)
    show as previews that fit in 240x180; a link elsewhere stays a link."""
    landscape = tmp_path / "sunset.png"
    Image.radial_gradient("L").resize((800, 600)).convert("RGB").save(landscape)
    portrait = tmp_path / "tall tree.jpg"
    Image.linear_gradient("L").resize((600, 900)).convert("RGB").save(portrait, quality=85)
    bob = _joined(app, room)
    view = party(app, room.port)
    focus(app.input.entry)
    app.root.clipboard_clear()
    app.root.clipboard_append(str(landscape))
    app.input.entry.event_generate("<<Paste>>")
    bob.send("FILEHOST")
    bob.wait_for("FILEHOST TOKEN")
    said = next(line for line in bob.lines if "FILEHOST TOKEN" in line)
    token = said.split("FILEHOST TOKEN ", 1)[1].split()[0]
    [upload_url] = {word.split("=", 1)[1] for line in bob.lines for word in line.split()
                    if word.startswith("draft/FILEHOST=")}  # fmt: skip
    request = urllib.request.Request(
        upload_url,
        data=portrait.read_bytes(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "image/jpeg",
            "Content-Disposition": "attachment; filename*=UTF-8''tall%20tree.jpg",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        link = answer.headers["Location"]
    bob.send(f"PRIVMSG #party :look {link} and http://127.0.0.1:9/files/x/elsewhere.png")

    def previews() -> list[str]:
        return [name_of(w) for w in controls(view.text) if name_of(w).startswith("Open ")]

    run_until(app.root, lambda: len(previews()) == 2, previews)
    sunset, tree = find(view.text, "Open sunset.png"), find(view.text, "Open tall tree.jpg")
    assert _image_size(sunset) == (240, 180)
    assert _image_size(tree) == (120, 180)
    # each on a row of its own, under the line with its link
    row = int(view.text.index(tree).split(".")[0])
    assert link in view.text.get(f"{row - 1}.0", f"{row - 1}.end")
    assert THUMBNAIL_TAG in view.text.tag_names(view.text.index(sunset))
    opened: list[str] = []
    app.previews.open_url = opened.append
    tree.invoke()  # type: ignore[attr-defined]
    assert opened == [link]
    app.redraw(app.model.active)  # the transcript is drawn anew: the previews come back
    app.flush()
    assert sorted(previews()) == ["Open sunset.png", "Open tall tree.jpg"]
    bob.close()


def test_previews_kept_are_bounded_and_a_forgotten_one_is_asked_for_again() -> None:
    asked: list[GuiCommand] = []
    with tk_root() as root:
        text = tk.Text(root)
        previews = Previews(asked.append, lambda url: None, max_kept=2)
        urls = [f"http://h/files/{i:024d}/p{i}.png" for i in range(3)]
        lines = [format_message(nick="bob", ip="", text=url, time_ms=0, own=False) for url in urls]
        text.insert("end", "\n".join(urls))  # the links as the transcript shows them
        previews.show("s", text, lines)
        assert [c.url for c in asked if isinstance(c, FetchThumbnail)] == urls
        for url in urls:  # each comes back; the third pushes out the least recently placed
            previews.ready(ThumbnailReady("s", url, png(4, 3), 4, 3), [text])
        asked.clear()
        previews.show("s", text, lines)
        assert [c.url for c in asked if isinstance(c, FetchThumbnail)] == urls[:1]
