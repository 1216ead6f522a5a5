"""The stdio side of the GUI agents (tests/gui/chat_agent.py, launcher_agent.py).

An agent is a real window in its own process (often inside a network namespace) that a test
drives with JSON lines: commands come in on stdin (read by a thread, applied on the Tk thread
every tick), reports go out on stdout whenever what the window shows changes. EOF on stdin
closes the window. Every agent takes

    {"cmd": "screenshot", "path": P}   save the window as a PNG, then {"event": "saved"}
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.gui.tk_support import screenshot

TICK_MS = 30


def say(obj: dict[str, Any]) -> None:
    """Write one report line."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def serve(
    root: tk.Tk,
    apply: Callable[[dict[str, Any]], None],
    snapshot: Callable[[], list[dict[str, Any]]],
    close: Callable[[], None],
) -> None:
    """Run the Tk loop, applying commands and reporting changed snapshots, until stdin ends.

    Args:
        root: the window.
        apply: applies one command other than "screenshot" (Tk thread).
        snapshot: the reports describing the window now; each is printed when it changes
            (keyed by its "event" value).
        close: closes the window cleanly.
    """
    commands: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()

    def read() -> None:
        for line in sys.stdin:
            if line.strip():
                commands.put(json.loads(line))
        commands.put(None)

    last: dict[str, dict[str, Any]] = {}

    def tick() -> None:
        while True:
            try:
                cmd = commands.get_nowait()
            except queue.Empty:
                break
            if cmd is None:
                close()
                return
            if cmd["cmd"] == "screenshot":
                screenshot(root, Path(cmd["path"]))
                say({"event": "saved", "path": cmd["path"]})
            else:
                apply(cmd)
        for report in snapshot():
            if last.get(report["event"]) != report:
                last[report["event"]] = report
                say(report)
        root.after(TICK_MS, tick)

    threading.Thread(target=read, daemon=True).start()
    root.after(TICK_MS, tick)
    root.update()
    say({"event": "ready"})
    root.mainloop()
