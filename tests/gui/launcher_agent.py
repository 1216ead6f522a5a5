"""A real launcher window driven over JSON lines on stdio, for the end-to-end tests.

Run as `python -m tests.gui.launcher_agent --data-root DIR` inside a network namespace. It
opens the real LauncherApp with a real Supervisor and a real discovery BrowserThread and,
through tests/gui/agent_io.py:

- reports {"event": "hosted", "rows": [[room, address, users, state], ...]},
  {"event": "lan", "rows": [[room, host, users], ...]} and {"event": "opened", "calls":
  [[arg, ...], ...]}, the `lanchat chat` argument lists of the chat windows it opened (real
  processes, in the same namespace, with $XDG_CONFIG_HOME from --config-home: their pins
  are the test's; they are stopped when the agent ends);
- takes commands:
    {"cmd": "start", "room": "#x"}     type the room name and press Start
    {"cmd": "stop", "room": "#x"}      select its row and press Stop
    {"cmd": "join", "room": "#x", "host": H}  select that LAN row and press Join
    {"cmd": "screenshot", "path": P}   (agent_io) save the window as a PNG
EOF on stdin stops the hosted rooms and closes the window.
"""

from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
import tkinter as tk
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lanchat.discovery.browser import BrowserThread
from lanchat.launcher.app import LauncherApp, open_chat
from lanchat.launcher.supervisor import Supervisor
from tests.gui.agent_io import serve


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--host-label", default="lan-host")
    parser.add_argument("--config-home", type=Path, help="$XDG_CONFIG_HOME of the chat windows")
    args = parser.parse_args()
    if args.config_home:
        os.environ["XDG_CONFIG_HOME"] = str(args.config_home)
    calls: list[list[str]] = []
    windows: list[subprocess.Popen[bytes]] = []

    def open_window(chat_args: Sequence[str]) -> None:
        calls.append(list(chat_args))
        windows.append(open_chat(chat_args))

    root = tk.Tk(className="lanchat")
    room_events: queue.SimpleQueue[Any] = queue.SimpleQueue()
    browser = BrowserThread(room_events.put)
    browser.start()
    app = LauncherApp(
        root,
        Supervisor(data_root=args.data_root),
        room_events,
        host_label=args.host_label,
        open_chat=open_window,
    )
    app.start()

    def apply(cmd: dict[str, Any]) -> None:
        if cmd["cmd"] == "start":
            app.room.set(cmd["room"])
            app.start_button.invoke()
        elif cmd["cmd"] == "stop":
            app.select_hosted(cmd["room"])
            app.stop_button.invoke()
        elif cmd["cmd"] == "join":
            rows = app.lan.rows.items()
            [iid] = [i for i, r in rows if (r.room, r.host) == (cmd["room"], cmd["host"])]
            app.lan_tree.selection_set(iid)
            app.root.update()  # <<TreeviewSelect>> enables Join
            app.join_button.invoke()

    def snapshot() -> list[dict[str, Any]]:
        return [
            {"event": "hosted", "rows": [list(r) for r in app.hosted_rows()]},
            {"event": "lan", "rows": [list(r) for r in app.lan_rows()]},
            {"event": "opened", "calls": [list(call) for call in calls]},
        ]

    try:
        serve(root, apply, snapshot, app.quit)
    finally:
        browser.stop()
        for window in windows:
            window.terminate()
            window.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
