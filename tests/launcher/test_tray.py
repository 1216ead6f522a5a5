"""The launcher's tray icon in a real system tray under Xvfb (lanchat.launcher.tray).

The tray is Debian's `trayer`, a standalone XEMBED tray (the freedesktop System Tray protocol,
as in desktop panels). Everything goes through real X input: xdotool moves the pointer onto
the docked icon and clicks (pystray's thread gets the press), then onto the launcher's menu
entry and clicks (Tk gets it). On X11 the menu is the launcher's own Tk menu -- pystray's
xorg backend has none -- so it is driven like any X menu, nothing is called directly.
"""

from __future__ import annotations

import queue
import subprocess
import time
import tkinter as tk
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from Xlib import display

from lanchat.launcher.app import LauncherApp
from lanchat.launcher.supervisor import Supervisor
from lanchat.launcher.tray import LABELS, TrayIcon, tray_problem
from tests.gui.tk_support import run_until, tk_root

pytestmark = pytest.mark.gui

START_TIMEOUT_S = 20.0


def wait_for(predicate: Any, what: str, timeout_s: float = 20.0) -> None:
    """Wait for something outside Tk (another X client) to happen."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"not within {timeout_s}s: {what}"
        time.sleep(0.05)


@pytest.fixture
def root() -> Iterator[tk.Tk]:
    """The launcher's window, shown (a tray icon hides and shows it)."""
    with tk_root(withdrawn=False) as window:
        yield window


@pytest.fixture
def tray_host(root: tk.Tk) -> Iterator[subprocess.Popen[bytes]]:
    """A standalone system tray (trayer) on the test display, gone at the end.

    Depends on `root` only so that a client stays connected throughout: Xvfb resets itself
    when its last client leaves, and a connection made during the reset is refused.
    """
    assert tray_problem() == "this desktop has no system tray"  # none before: the fallback
    tray = subprocess.Popen(
        ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: tray_problem() is None, "trayer owns the tray selection")
        xdotool("search", "--sync", "--onlyvisible", "--name", "^panel$")  # its panel is up
        yield tray
    finally:
        tray.terminate()
        tray.wait(10)


class Launched:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, args: Sequence[str]) -> None:
        self.calls.append(list(args))


def xdotool(*args: str) -> str:
    return subprocess.run(
        ["xdotool", *args], capture_output=True, text=True, check=True, timeout=20
    ).stdout


def icon_windows() -> list[str]:
    found = subprocess.run(
        ["xdotool", "search", "--classname", "lanchatSystemTrayIcon"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.split()


def docked_icon() -> int:
    """The X window of our icon, once the tray has reparented it into itself."""
    window = int(xdotool("search", "--sync", "--classname", "lanchatSystemTrayIcon").split()[0])
    x = display.Display()
    try:
        root = x.screen().root
        wait_for(
            lambda: x.create_resource_object("window", window).query_tree().parent != root,
            "the icon docked in the tray",
        )
    finally:
        x.close()
    return window


def choose(app: LauncherApp, icon: int, action: str) -> None:
    """Click the tray icon, then the menu entry of `action`, with real X input."""
    xdotool("mousemove", "--window", str(icon), "8", "8", "click", "1")
    menu = app.tray_menu
    run_until(app.root, menu.winfo_ismapped, "the tray menu open at the pointer")
    index = menu.index(LABELS[action])
    assert index is not None
    y = menu.winfo_rooty() + menu.yposition(index) + 6
    xdotool("mousemove", str(menu.winfo_rootx() + 20), str(y), "click", "1")
    run_until(app.root, lambda: not menu.winfo_ismapped(), "the menu closed by the choice")


def test_the_icon_docks_and_its_menu_starts_a_room_opens_chat_and_quits(
    root: tk.Tk, tray_host: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    sup = Supervisor(data_root=tmp_path / "hosted", serve_args=["--host", "127.0.0.1", "--no-mdns"])
    launched = Launched()
    app = LauncherApp(root, sup, queue.SimpleQueue(), open_chat=launched, poll_ms=20)
    app.tray = TrayIcon(app.tray_actions)
    app.tray.start()
    app.start()
    try:
        icon = docked_icon()
        choose(app, icon, "chat")
        run_until(root, lambda: launched.calls == [[]], lambda: str(launched.calls))
        choose(app, icon, "start")
        run_until(
            root,
            lambda: [r[3] for r in app.hosted_rows()] == ["running"],
            app.hosted_rows,
            timeout_s=START_TIMEOUT_S,
        )
        # with a room hosted, closing the window hides it; the icon brings it back
        app.close_window()
        root.update()
        assert root.state() == "withdrawn"
        choose(app, icon, "show")
        run_until(root, lambda: root.state() == "normal", root.state)
        # Quit asks first, in the window, as the window's own close does without a tray
        choose(app, icon, "quit")
        run_until(root, lambda: app.confirm.winfo_manager() == "pack", "the quit question")
        hosted = sup.hosted()[0]
        app.quit_button.invoke()
        assert hosted.process is not None and hosted.process.poll() is not None
        wait_for(lambda: not icon_windows(), "the icon gone from the tray")
    finally:
        app.tray.stop()  # (again: after a failure half-way)
        sup.stop_all()
