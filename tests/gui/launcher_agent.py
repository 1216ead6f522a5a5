"""A real launcher window driven over JSON lines on stdio, for the end-to-end tests.

Run as `python -m tests.gui.launcher_agent --data-root DIR` inside a network namespace. It
opens the real LauncherApp with a real Supervisor and a real discovery BrowserThread and,
through tests/gui/agent_io.py:

- reports {"event": "hosted", "rows": [[room, address, users, state], ...]} and
  {"event": "lan", "rows": [[room, host, users], ...]};
- takes commands:
    {"cmd": "start", "room": "#x"}     type the room name and press Start
    {"cmd": "stop", "room": "#x"}      select its row and press Stop
    {"cmd": "screenshot", "path": P}   (agent_io) save the window as a PNG
EOF on stdin stops the hosted rooms and closes the window.
"""

from __future__ import annotations

import argparse
import queue
import sys
import tkinter as tk
from pathlib import Path
from typing import Any

from lanchat.discovery.browser import BrowserThread
from lanchat.launcher.app import LauncherApp
from lanchat.launcher.supervisor import Supervisor
from tests.gui.agent_io import serve


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--host-label", default="lan-host")
    args = parser.parse_args()
    root = tk.Tk(className="lanchat")
    room_events: queue.SimpleQueue[Any] = queue.SimpleQueue()
    browser = BrowserThread(room_events.put)
    browser.start()
    app = LauncherApp(
        root, Supervisor(data_root=args.data_root), room_events, host_label=args.host_label
    )
    app.start()

    def apply(cmd: dict[str, Any]) -> None:
        if cmd["cmd"] == "start":
            app.room.set(cmd["room"])
            app.start_button.invoke()
        elif cmd["cmd"] == "stop":
            app.select_hosted(cmd["room"])
            app.stop_button.invoke()

    def snapshot() -> list[dict[str, Any]]:
        return [
            {"event": "hosted", "rows": [list(r) for r in app.hosted_rows()]},
            {"event": "lan", "rows": [list(r) for r in app.lan_rows()]},
        ]

    try:
        serve(root, apply, snapshot, app.quit)
    finally:
        browser.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
