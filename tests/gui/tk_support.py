"""Helpers for real-Tk tests under Xvfb: a withdrawn root, and running the Tk loop until
something is on screen.

Waiting means running Tk's own event loop (`wait_variable`) with a check on every
`check_ms` tick and a deadline; nothing sleeps, and a failed wait says what was shown.
"""

from __future__ import annotations

import gc
import re
import subprocess
import time
import tkinter as tk
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_TIMEOUT_S = 10.0


@contextmanager
def tk_root(*, withdrawn: bool = True) -> Iterator[tk.Tk]:
    """A Tk root for one test; destroyed after update_idletasks() at the end."""
    root = tk.Tk(className="lanchat-test")
    if withdrawn:
        root.withdraw()
    try:
        yield root
    finally:
        try:
            root.update_idletasks()
            root.destroy()
        except tk.TclError:
            pass  # the test closed the window itself (e.g. /quit)
        # Tk variables left in reference cycles must be freed here, on the Tk thread: freed by
        # a garbage collection on another thread they raise "main thread is not in main loop".
        gc.collect()


_HEADER = re.compile(r"^(\S+)  \d\d:\d\d$")  # "bob  18:54" above a group of messages


def said_by(contents: str, text: str) -> str:
    """Who said `text` in a transcript's plain text: the name of the header above the row
    that reads `text` ("" when no row reads it)."""
    speaker = ""
    for row in contents.splitlines():
        if m := _HEADER.match(row):
            speaker = m.group(1)
        elif row == text:
            return speaker
    return ""


def focus(widget: tk.Misc) -> None:
    """Map the window and give `widget` the keyboard focus: X delivers key events (also
    generated ones) only to a mapped window that has the focus."""
    top = widget.winfo_toplevel()
    top.deiconify()
    top.update()
    widget.focus_force()
    top.update()


def xdotool(widget: tk.Misc, *args: str) -> None:
    """Run xdotool on the display (real X input, as a person's mouse and keyboard give),
    then let Tk handle what it caused. Clicks take `widget` coordinates with `--at X Y`."""
    if args[:1] == ("--at",):
        x, y = int(args[1]), int(args[2])
        args = ("mousemove", "--sync", str(widget.winfo_rootx() + x),
                str(widget.winfo_rooty() + y), *args[3:])  # fmt: skip
    subprocess.run(["xdotool", *args], check=True, capture_output=True, timeout=10)
    for _ in range(5):  # the X events arrive a moment later
        widget.update()
        time.sleep(0.02)


def run_until(
    root: tk.Misc,
    predicate: Callable[[], bool],
    what: str | Callable[[], str],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    check_ms: int = 20,
) -> None:
    """Run the Tk event loop until `predicate()` holds; fail with `what` after `timeout_s`.

    Args:
        root: any widget of the application.
        predicate: checked every `check_ms` while Tk processes events.
        what: the expectation (or a function returning it) for the failure message.
        timeout_s: the deadline.
        check_ms: how often the predicate is checked.
    """
    done = tk.StringVar(root, "")
    ids: list[str] = []

    def check() -> None:
        if predicate():
            done.set("ok")
        else:
            ids[0] = root.after(check_ms, check)

    ids.append(root.after(0, check))
    deadline = root.after(int(timeout_s * 1000), lambda: done.set("timeout"))
    if not predicate():
        root.wait_variable(done)
    root.after_cancel(ids[0])
    root.after_cancel(deadline)
    check = None  # type: ignore[assignment]  # break the closure's self-reference cycle
    if done.get() == "timeout" and not predicate():
        message = what() if callable(what) else what
        raise AssertionError(f"not shown within {timeout_s}s: {message}")


def screenshot(window: tk.Misc, path: Path) -> None:
    """Save what `window` shows now as a PNG (ImageMagick `import` of its X window).

    The window is raised and focused first: the test display has no window manager, so
    windows of several processes overlap and `import` copies what is on screen.
    """
    top = window.winfo_toplevel()
    top.lift()
    top.focus_force()
    top.update()
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["import", "-window", window.winfo_toplevel().wm_frame(), str(path)],
        check=True,
        capture_output=True,
    )
