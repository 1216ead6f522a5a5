"""The launcher window with real Tk under Xvfb and real `lanchat serve` children
(lanchat.launcher.app)."""

from __future__ import annotations

import asyncio
import queue
import threading
import tkinter as tk
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from lanchat.client.bridge import RoomAdded, RoomRemoved
from lanchat.client.upload import upload_file
from lanchat.discovery.records import RoomAd
from lanchat.gui.access import find, name_of, unnamed_controls
from lanchat.gui.trust import grouped
from lanchat.launcher.app import LauncherApp
from lanchat.launcher.supervisor import Supervisor
from lanchat.server.certificate import CERT_FILE
from tests.discovery.netns import REPO
from tests.gui.tk_support import run_until, screenshot, tk_root, xdotool
from tests.server.test_certificate import openssl_fingerprint
from tests.web.filehost import uploader

pytestmark = pytest.mark.gui

START_TIMEOUT_S = 20.0


class Launched:
    """The `lanchat chat` argument lists the launcher asked to open."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, args: Sequence[str]) -> None:
        self.calls.append(list(args))


@pytest.fixture
def launched() -> Launched:
    return Launched()


@pytest.fixture
def launcher(tmp_path: Path, launched: Launched) -> Iterator[LauncherApp]:
    sup = Supervisor(data_root=tmp_path / "hosted", serve_args=["--host", "127.0.0.1", "--no-mdns"])
    events: queue.SimpleQueue[Any] = queue.SimpleQueue()
    with tk_root() as root:
        app = LauncherApp(root, sup, events, open_chat=launched, host_label="testhost", poll_ms=20)
        app.start()
        yield app
        app.quit()
    sup.stop_all()


def post(app: LauncherApp, *events: object) -> None:
    t = threading.Thread(target=lambda: [app.room_events.put(e) for e in events])
    t.start()
    t.join()


def started(app: LauncherApp) -> bool:
    rows = app.hosted_rows()
    return bool(rows) and rows[0][3] == "running"


def test_start_a_room_lists_it_with_its_join_address(launcher: LauncherApp) -> None:
    launcher.room.set("party")
    launcher.start_button.invoke()
    assert launcher.status.cget("text") == "Starting #party…"
    run_until(
        launcher.root, lambda: started(launcher), launcher.hosted_rows, timeout_s=START_TIMEOUT_S
    )
    port = launcher.supervisor.hosted()[0].port
    assert launcher.hosted_rows() == [("#party", f"127.0.0.1:{port}", "-", "running")]
    assert launcher.status.cget("text") == f"#party is open at 127.0.0.1:{port}."
    # its certificate's fingerprint, to compare by eye with what joiners see (#17)
    cert = launcher.supervisor.hosted()[0].data_dir / CERT_FILE
    fingerprint = openssl_fingerprint(cert)
    text = launcher.fingerprints.texts["#party"]
    assert text.cget("text").split() == grouped(fingerprint).split()  # whole, in two rows
    launcher.root.geometry("460x780+0+0")  # the narrowest the launcher gets (its minsize)
    launcher.root.deiconify()  # on the display, for a real click on Copy
    run_until(launcher.root, text.winfo_viewable, "the fingerprint on the display")
    assert text.winfo_reqwidth() <= text.winfo_width()  # nothing cut at the window's edge
    assert text.winfo_x() + text.winfo_width() <= launcher.fingerprints.frame.winfo_width()
    copy = find(launcher.root, "Copy the certificate fingerprint of #party")
    xdotool(copy, "--at", "8", "8", "click", "1")
    run_until(launcher.root, lambda: copy.cget("text") == "Copied", "Copied")
    assert launcher.root.clipboard_get() == fingerprint
    # the room's own advertisement carries its user count
    post(
        launcher,
        RoomAdded(RoomAd("#party", "testhost", port, users=3, instance="#party on testhost")),
    )
    run_until(launcher.root, lambda: launcher.hosted_rows()[0][2] == "3", launcher.hosted_rows)
    assert launcher.stop_button.instate(["disabled"])  # nothing selected yet
    launcher.hosted_tree.selection_set(launcher.hosted_tree.get_children()[0])
    launcher.root.update()
    assert launcher.stop_button.instate(["!disabled"])
    launcher.hosted_tree.selection_set(())
    launcher.root.update()
    launcher.select_hosted("#party")  # as the end-to-end agent does: Stop follows at once
    assert launcher.stop_button.instate(["!disabled"])
    launcher.stop_button.invoke()
    run_until(launcher.root, lambda: not launcher.hosted_rows(), launcher.hosted_rows)
    assert launcher.status.cget("text") == "#party is closed."
    assert launcher.stop_button.instate(["disabled"])  # the selected row is gone


def test_every_control_has_an_accessible_name(launcher: LauncherApp) -> None:
    assert unnamed_controls(launcher.root) == []
    assert find(launcher.root, "Hosted on this computer") is launcher.hosted_tree
    assert find(launcher.root, "Why can't I see anyone?") is launcher.diagnose_button


def test_start_with_a_bad_port_says_what_to_type(launcher: LauncherApp) -> None:
    launcher.port.set("http")
    launcher.start_button.invoke()
    assert launcher.problem.cget("text").startswith("The port must be a number from 1 to 65535")
    assert launcher.hosted_rows() == []


def test_start_with_a_key_holding_a_space_says_what_is_allowed(launcher: LauncherApp) -> None:
    launcher.key.set("open sesame")
    launcher.start_button.invoke()
    assert launcher.problem.cget("text") == (
        "The room key must be at most 23 characters, without spaces, commas or a leading ':'."
    )
    assert launcher.hosted_rows() == []


def test_quitting_with_hosted_rooms_asks_first_and_stops_them(launcher: LauncherApp) -> None:
    launcher.start_button.invoke()
    run_until(
        launcher.root, lambda: started(launcher), launcher.hosted_rows, timeout_s=START_TIMEOUT_S
    )
    hosted = launcher.supervisor.hosted()[0]
    launcher.close_window()  # the window's close button; no tray icon here to hide it in
    assert launcher.confirm.winfo_manager() == "pack"
    assert launcher.confirm_text.cget("text").startswith("#lobby is hosted here.")
    launcher.keep_button.invoke()
    assert launcher.confirm.winfo_manager() == ""
    launcher.request_quit()
    launcher.quit_button.invoke()
    assert hosted.process is not None and hosted.process.poll() is not None


def test_rooms_on_the_network_are_listed_and_join_opens_chat(
    launcher: LauncherApp, launched: Launched
) -> None:
    ad = RoomAd(
        "#games", "pc2", 7000, users=4, addresses=("192.168.1.9",), instance="#games on pc2"
    )
    assert launcher.join_button.instate(["disabled"])
    post(launcher, RoomAdded(ad))
    run_until(launcher.root, lambda: bool(launcher.lan_rows()), launcher.lan_rows)
    assert launcher.lan_rows() == [("#games", "pc2", "4")]
    assert launcher.join_button.instate(["disabled"])  # listed, not yet chosen
    launcher.lan_tree.selection_set("#games on pc2")
    launcher.root.update()
    assert launcher.join_button.instate(["!disabled"])
    launcher.join_button.invoke()
    assert launched.calls == [["--connect", "192.168.1.9:7000", "--join", "#games"]]
    v6 = RoomAd("#v6", "pc3", 7001, addresses=("fe80::9",), instance="#v6 on pc3")
    post(launcher, RoomAdded(v6))
    run_until(launcher.root, lambda: len(launcher.lan_rows()) == 2, launcher.lan_rows)
    launcher.lan_tree.selection_set("#v6 on pc3")
    launcher.join_button.invoke()  # an IPv6 address in brackets, as the row shows it
    assert launched.calls[-1] == ["--connect", "[fe80::9]:7001", "--join", "#v6"]
    post(launcher, RoomRemoved(v6))
    launcher.open_button.invoke()
    assert launched.calls[-1] == []
    post(launcher, RoomRemoved(ad))
    run_until(launcher.root, lambda: not launcher.lan_rows(), launcher.lan_rows)
    assert launcher.join_button.instate(["disabled"])


def test_join_of_a_clustered_room_passes_every_node_to_connect_to(
    launcher: LauncherApp, launched: Launched
) -> None:
    # Issue 20: the chat window gets every node's address, so it can move to another node.
    for host, address, port in (("hall-b", "fe80::9", 7001), ("hall-a", "192.168.1.9", 7000)):
        post(launcher, RoomAdded(RoomAd("#party", host, port, addresses=(address,),
                                        instance=f"#party on {host}", cluster="c1")))  # fmt: skip
    run_until(launcher.root, lambda: launcher.lan_rows() == [("#party", "hall-a, hall-b", "0")],
              launcher.lan_rows)  # fmt: skip
    [row] = launcher.lan.rows
    launcher.lan_tree.selection_set(row)
    launcher.root.update()  # <<TreeviewSelect>> enables Join
    launcher.join_button.invoke()
    assert launched.calls == [
        ["--connect", "192.168.1.9:7000", "--connect", "[fe80::9]:7001", "--join", "#party"]
    ]


def test_join_of_a_tls_room_passes_each_nodes_tls_port_fingerprint_and_pin(
    launcher: LauncherApp, launched: Launched
) -> None:
    # Issue #17: as the Rooms page connects, each node over TLS with its own certificate.
    for host, address, tls, fp in (
        ("hall-b", "fe80::9", 7101, "b" * 64),
        ("hall-a", "192.168.1.9", 7100, "a" * 64),
    ):
        post(
            launcher,
            RoomAdded(
                RoomAd(
                    "#party",
                    host,
                    tls - 100,
                    addresses=(address,),
                    tls=tls,
                    fp=fp,
                    instance=f"#party on {host}",
                    cluster="c1",
                )
            ),
        )
    run_until(launcher.root, lambda: len(launcher.lan.rows) == 1, launcher.lan_rows)
    [row] = launcher.lan.rows
    launcher.lan_tree.selection_set(row)
    launcher.root.update()
    launcher.join_button.invoke()
    assert launched.calls == [
        [
            "--connect",
            f"ircs://192.168.1.9:7100?fp={'a' * 64}&pin=lan%3Ahall-a",
            "--connect",
            f"ircs://[fe80::9]:7101?fp={'b' * 64}&pin=lan%3Ahall-b",
            "--join",
            "#party",
        ]
    ]


def test_a_hosted_rooms_web_page_is_shown_with_its_link_and_qr_code(
    launcher: LauncherApp,
) -> None:
    assert launcher.web_page.url == ""
    assert str(launcher.web_page.open_button.cget("state")) == "disabled"
    launcher.room.set("#party")
    launcher.start_button.invoke()
    run_until(
        launcher.root, lambda: started(launcher), launcher.hosted_rows, timeout_s=START_TIMEOUT_S
    )
    [hosted] = launcher.supervisor.hosted()
    [url] = hosted.web_urls()
    assert url.startswith("http://127.0.0.1:") and url != f"http://127.0.0.1:{hosted.port}/"
    assert launcher.web_page.url == url
    assert launcher.web_page.link.get() == url
    assert launcher.web_page.qr.cget("image")
    assert "#party" in launcher.web_page.caption.cget("text")
    with urllib.request.urlopen(url, timeout=5) as page:
        assert page.status == 200
    opened: list[str] = []
    launcher.web_page._open_url = opened.append
    launcher.web_page.open_button.invoke()
    assert opened == [url]
    launcher.hosted_tree.selection_set(launcher.hosted_tree.get_children()[0])
    launcher.root.update()  # Stop follows the selection
    launcher.stop_button.invoke()
    run_until(launcher.root, lambda: not launcher.hosted_rows(), launcher.hosted_rows)
    assert launcher.web_page.url == ""
    assert not launcher.web_page.qr.cget("image")


def fully_shown(widget: tk.Misc) -> bool:
    """`widget` is on screen at its full size, inside its window."""
    top = widget.winfo_toplevel()
    return (
        widget.winfo_ismapped()
        and widget.winfo_height() >= widget.winfo_reqheight()
        and widget.winfo_width() >= widget.winfo_reqwidth()
        and widget.winfo_rooty() + widget.winfo_height() <= top.winfo_rooty() + top.winfo_height()
    )


def test_the_quit_question_is_shown_whole(launcher: LauncherApp) -> None:
    for name in ("#lobby", "#a-very-long-room-name-for-games"):
        launcher.room.set(name)
        launcher.start_button.invoke()
    run_until(
        launcher.root,
        lambda: [r[3] for r in launcher.hosted_rows()] == ["running", "running"],
        launcher.hosted_rows,
        timeout_s=START_TIMEOUT_S,
    )
    launcher.root.deiconify()  # laid out at the window's real size, as people see it
    launcher.request_quit()
    launcher.root.update()
    for widget in (launcher.confirm_text, launcher.quit_button, launcher.keep_button):
        assert fully_shown(widget), name_of(widget)
    screenshot(launcher.root, REPO / "build" / "screenshots" / "launcher-quit.png")


def test_the_rooms_shared_files_are_counted_and_cleared(
    launcher: LauncherApp, tmp_path: Path
) -> None:
    launcher.room.set("#files")
    launcher.start_button.invoke()
    run_until(
        launcher.root, lambda: started(launcher), launcher.hosted_rows, timeout_s=START_TIMEOUT_S
    )
    [hosted] = launcher.supervisor.hosted()
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"p" * 2500)

    async def share() -> str:
        up = await uploader(hosted.port)
        shared = await upload_file(up.url, photo, token=up.token)
        await up.client.close()
        return shared.url

    link = asyncio.run(share())
    panel = launcher.shared_files
    panel.refresh()
    assert panel.label.cget("text") == "Shared files: 1 file, 2.5 kB"
    panel.clear_button.invoke()
    assert panel.label.cget("text") == "No shared files"
    assert panel.clear_button.instate(["disabled"])
    with pytest.raises(urllib.error.HTTPError, match="404"):
        urllib.request.urlopen(link, timeout=10)
