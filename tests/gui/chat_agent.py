"""A real chat window driven over JSON lines on stdio, for the end-to-end tests.

Run as `python -m tests.gui.chat_agent --nick NICK` (inside a network namespace with
`ip netns exec NS ...`). It opens the real ChatApp with a real NetworkThread (mDNS browsing
on) and, through tests/gui/agent_io.py:

- reports {"event": "rooms", "rows": [[room, host, users, topic, address], ...]} (the Rooms
  page) and {"event": "transcript", "tab": NAME, "text": ..., "connection": ...} (the tab in
  front, and its connection line: "" or "Reconnecting in 5 s…" or "#x was closed by its host.")
  and {"event": "status", "text": ...} (the status bar: "Connected to 10.0.0.2:6667 as bob.");
- takes commands:
    {"cmd": "join", "room": "#x"}      select that row on the Rooms page and press Join
    {"cmd": "say", "text": "..."}      type a line in the input and press Return
    {"cmd": "rooms_page"}              bring the Rooms page to the front
    {"cmd": "theme", "name": "dark"}   switch the theme
    {"cmd": "screenshot", "path": P}   (agent_io) save the window as a PNG
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import tkinter as tk
from pathlib import Path
from typing import Any

from lanchat.client.bridge import NetworkThread
from lanchat.gui.app import ChatApp
from lanchat.gui.settings import Settings
from tests.gui.agent_io import serve
from tests.gui.tk_support import focus


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nick", required=True)
    args = parser.parse_args()
    root = tk.Tk(className="lanchat")
    config = Path(tempfile.mkdtemp(prefix="lanchat-agent-")) / "settings.json"
    # Its own certificate pins too: the rooms of every run have new certificates.
    net = NetworkThread(browse=True, pins_path=config.with_name("pins.json"))
    net.start()
    app = ChatApp(root, net, Settings(nick=args.nick), settings_path=config, bell=False)
    app.start()

    def apply(cmd: dict[str, Any]) -> None:
        page = app.rooms_page
        if cmd["cmd"] == "join":
            row = next(r for r in page.model.rows.values() if r.room == cmd["room"])
            page.select(row.instance)
            page.join_button.invoke()
        elif cmd["cmd"] == "say":
            focus(app.input.entry)
            app.input.entry.set_text(cmd["text"])
            app.input.entry.event_generate("<Return>")
        elif cmd["cmd"] == "rooms_page":
            app.tabs.select(page)
        elif cmd["cmd"] == "theme":
            app.set_theme(cmd["name"])

    def snapshot() -> list[dict[str, Any]]:
        reports: list[dict[str, Any]] = [
            {"event": "rooms", "rows": [list(r) for r in app.rooms_page.shown_rows()]},
            {"event": "status", "text": str(app.bar.status.cget("text"))},
        ]
        conv = app.model.conversations.get(app.model.active)
        if conv is not None:
            view = app.views[conv.key]
            reports.append(
                {
                    "event": "transcript",
                    "tab": conv.name,
                    "text": view.contents(),
                    "connection": view.connection_message(),
                }
            )
        return reports

    serve(root, apply, snapshot, app.close)
    return 0


if __name__ == "__main__":
    sys.exit(main())
