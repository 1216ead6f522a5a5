"""The launcher's icon in the system tray: Start a room, Open chat, Show launcher, Quit.

Layer: launcher back end; no Tk. Imports pystray, Pillow and (on X11) python-xlib -- the
`tray` extra -- only when asked, so the launcher runs without them and keeps its window.
Spec: lanchat issue #15; the freedesktop System Tray protocol
https://specifications.freedesktop.org/systemtray-spec/ (XEMBED docking through the
`_NET_SYSTEM_TRAY_S<screen>` selection).

pystray runs the icon on a thread of its own. Nothing here touches Tk: each menu choice puts
an action name ("show", "start", "chat", "quit", or "menu") on a queue that the launcher
drains with after(), like every other background event (STYLE.md).

Backends, and why:
- X11 uses pystray's *xorg* backend, chosen explicitly: it docks in any XEMBED tray (the
  panels of Xfce, MATE, Cinnamon, LXDE, KDE through its proxy, standalone trays such as
  trayer), and whether a tray is there is one question to the X server, so without one the
  launcher keeps its window cleanly. pystray's default on Linux, AppIndicator, shows nothing
  at all where no StatusNotifier host runs, and nothing says so. The xorg backend has no menu
  of its own: a click posts "menu" and the launcher opens a Tk menu at the pointer. pystray
  0.19.5 also never asks X for the icon's button presses (pystray issue #151: clicks do
  nothing), which `_XorgIcon` adds.
- Windows uses pystray's own menu (right click) and opens the launcher on a left click.
- macOS gets no icon: pystray's status item needs the main thread, which Tk has.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["LABELS", "MENU", "TrayIcon", "tray_problem"]

log = logging.getLogger(__name__)

# The menu's actions in order, with their labels (also their accessible names).
LABELS: dict[str, str] = {
    "start": "Start a room",
    "chat": "Open chat",
    "show": "Show launcher",
    "quit": "Quit",
}
MENU = "menu"  # the action of a click on X11: open the launcher's own menu at the pointer
_X11 = sys.platform not in ("win32", "darwin")
_ICON_PX = 64
_STOP_TIMEOUT_S = 2.0


def tray_problem() -> str | None:
    """Why this desktop cannot show our tray icon, or None when it can.

    Returns:
        None if a system tray is there, else a reason in plain words (for the log).
    """
    if sys.platform == "darwin":
        return "the macOS menu bar needs the main thread, which the window has"
    try:
        import PIL  # noqa: F401
        import pystray  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return "pystray is not installed (pip install 'lanchat[tray]')"
    except Exception as e:  # pystray's X11 backends connect to the display at import
        return f"pystray cannot start ({e})"
    if not _X11:
        return None
    from Xlib import X, display, error  # type: ignore[import-untyped]

    try:
        connection = display.Display()
        try:
            screen = connection.get_default_screen()
            owner = connection.get_selection_owner(
                connection.intern_atom(f"_NET_SYSTEM_TRAY_S{screen}")
            )
        finally:
            connection.close()
    except (error.DisplayError, error.ConnectionClosedError, OSError) as e:
        return f"cannot ask the X display about a tray ({e})"
    return None if owner != X.NONE else "this desktop has no system tray"


def _image() -> Any:
    """The icon: two speech bubbles in the accent colour on white, drawn with Pillow."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (_ICON_PX, _ICON_PX), "#0b57d0")
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((8, 10, 46, 36), radius=8, fill="white")
    draw.polygon([(16, 34), (14, 46), (26, 35)], fill="white")
    draw.rounded_rectangle((24, 30, 56, 52), radius=7, fill="#cfe0fc")
    draw.polygon([(46, 50), (50, 58), (40, 51)], fill="#cfe0fc")
    return image


def _xorg_icon_class() -> type:
    """pystray's xorg Icon, with the button presses it forgets to select (pystray #151)."""
    from pystray import _xorg
    from Xlib import X

    class _XorgIcon(_xorg.Icon):  # type: ignore[misc]
        def _create_window(self) -> Any:
            window = super()._create_window()
            window.change_attributes(
                event_mask=X.ExposureMask | X.StructureNotifyMask | X.ButtonPressMask
            )
            return window

        def _assert_docked(self) -> None:
            # pystray asks the tray to dock the icon on every redraw request, so showing it
            # asked twice, and trayer sometimes lost the icon on the second request; ask once
            # per tray (a new tray after a restart clears _systray_manager and is asked again).
            if not self._systray_manager:
                self._dock_window()
            assert self._systray_manager

        def close(self) -> None:
            """Any thread: destroy the icon's window; its event loop ends on the notice.

            pystray's own stop() hands the work to the icon's thread and waits for a reply on
            a queue that every cross-thread call shares, and under load it was seen to return
            with the window still docked; X destroys the window whichever client asks. The
            icon is then marked stopped and hidden, or pystray's __del__ would ask the ended
            thread to stop it and wait for ever (at exit).
            """
            self._window.destroy()
            self._display.flush()
            self._running = False
            self._visible = False

    return _XorgIcon


class TrayIcon:
    """The icon in the system tray, run by pystray on its own daemon thread.

    Args:
        actions: gets the name of each choice ("start", "chat", "show", "quit", or MENU on X11
            when the icon is clicked); the launcher drains it on the Tk thread.
        title: the icon's name (its tooltip on Windows).
    """

    def __init__(self, actions: queue.SimpleQueue[str], title: str = "lanchat") -> None:
        self.actions = actions
        self.title = title
        self.docked = threading.Event()  # set once the icon was handed to the tray
        self._icon: Any = None  # the pystray Icon, once started
        self._thread: threading.Thread | None = None  # runs the icon's event loop

    def _post(self, action: str) -> Callable[[Any, Any], None]:
        def post(_icon: Any, _item: Any) -> None:
            self.actions.put(action)  # the tray's thread: only enqueue

        return post

    def start(self) -> None:
        """Show the icon; returns at once (the icon appears when the tray takes it)."""
        import pystray

        if _X11:
            icon_class: Any = _xorg_icon_class()
            # No menu of pystray's here: a click activates the hidden default item.
            items = [pystray.MenuItem(MENU, self._post(MENU), default=True, visible=False)]
        else:
            icon_class = pystray.Icon
            items = [
                pystray.MenuItem(label, self._post(action), default=action == "show")
                for action, label in LABELS.items()
            ]
        self._icon = icon_class("lanchat", _image(), self.title, menu=pystray.Menu(*items))

        def setup(icon: Any) -> None:
            icon.visible = True
            self.docked.set()

        # icon.run() on a thread of our own: run_detached() of pystray 0.19 starts a second
        # setup thread on X11 that waits forever and keeps the process from exiting.
        self._thread = threading.Thread(
            target=self._icon.run, args=(setup,), name="lanchat-tray", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Remove the icon and end its thread (waits for that thread briefly)."""
        icon, self._icon = self._icon, None
        if icon is None:
            return
        if _X11:
            icon.close()
            if self._thread is not None:
                self._thread.join(_STOP_TIMEOUT_S)
        else:
            icon.stop()
