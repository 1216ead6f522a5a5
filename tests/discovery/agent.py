"""A small discovery process for the namespace tests: advertise or browse, JSON lines on stdio.

Run inside a network namespace with `ip netns exec NS python tests/discovery/agent.py ...`.

    agent.py advertise --host LABEL [--interface ADDR] [--interval S]
        Listens on a real TCP port (the "server" the browser probes), prints
        {"event": "ready", "port": N}, then reads commands from stdin:
            {"op": "publish", "room": "#x", "users": 1, "topic": "...", "key": false}
                (optional: "tls", "fp", "cluster": the cluster id, "port": a server's port
                to advertise instead of the agent's own)
                -> {"event": "published", "room": ..., "instance": ..., "t": <monotonic s>}
                   once the records are announced ("t" is when publish() was called);
                   the next command does not wait for that
            {"op": "withdraw", "room": "#x"} -> {"event": "withdrawn", "room": ...}
            {"op": "pause"} / {"op": "resume"}: close / reopen the TCP port, records untouched
        EOF on stdin closes the advertiser (goodbye packets) and exits.

    agent.py browse [--interface ADDR] [--fail-first] [--probe-interval S]
        Prints {"event": "ready"}, then {"event": "added"|"updated"|"removed", "ad": {...},
        "t": <monotonic s>} for every RoomEvent of a BrowserThread, until stdin closes.
        {"op": "rooms"} -> {"event": "rooms", "instances": [...]} from BrowserThread.rooms().
        With --fail-first the callback raises after reporting the first event.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import socket
import sys
import time
from typing import Any

from lanchat.discovery import (
    Advertiser,
    BrowserThread,
    RoomAd,
    RoomAdded,
    RoomEvent,
    RoomUpdated,
)


def _say(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def _report_published(advertiser: Advertiser, room: str, t: float) -> None:
    await advertiser.flush()
    _say({"event": "published", "room": room, "instance": advertiser.instance(room), "t": t})


async def _advertise(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    listener = socket.create_server(("0.0.0.0", 0))
    port = listener.getsockname()[1]
    advertiser = Advertiser(
        port=port,
        host_label=args.host,
        interfaces=args.interface,
        min_update_interval_s=args.interval,
    )
    await advertiser.start()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    _say({"event": "ready", "port": port})
    pending: set[asyncio.Task[None]] = set()
    while line := await reader.readline():
        cmd = json.loads(line)
        room = cmd.get("room", "")
        if cmd["op"] == "pause":  # the server stops answering (its records stay on the LAN)
            listener.close()
            _say({"event": "paused"})
        elif cmd["op"] == "resume":  # ... and answers again, on the same port
            listener = socket.create_server(("0.0.0.0", port))
            _say({"event": "resumed"})
        elif cmd["op"] == "publish":
            t = time.monotonic()
            advertiser.publish(
                RoomAd(
                    room=room,
                    host="",
                    port=cmd.get("port", 0),
                    users=cmd.get("users", 0),
                    topic=cmd.get("topic", ""),
                    key_required=cmd.get("key", False),
                    tls=cmd.get("tls", 0),
                    fp=cmd.get("fp", ""),
                    cluster=cmd.get("cluster"),
                )
            )
            # Reported once announced; meanwhile later commands run (rooms register together).
            task = asyncio.create_task(_report_published(advertiser, room, t))
            pending.add(task)
            task.add_done_callback(pending.discard)
        elif cmd["op"] == "withdraw":
            advertiser.withdraw(room)
            await advertiser.flush()
            _say({"event": "withdrawn", "room": room})
    await advertiser.close()
    listener.close()


def _browse(args: argparse.Namespace) -> None:
    fail_next = [args.fail_first]

    def report(event: RoomEvent) -> None:
        kind = (
            "added"
            if isinstance(event, RoomAdded)
            else "updated"
            if isinstance(event, RoomUpdated)
            else "removed"
        )
        _say({"event": kind, "ad": dataclasses.asdict(event.ad), "t": time.monotonic()})
        if fail_next[0]:
            fail_next[0] = False
            raise RuntimeError("a callback bug the browser must survive")

    browser = BrowserThread(report, interfaces=args.interface, probe_interval_s=args.probe_interval)
    browser.start()
    _say({"event": "ready"})
    for line in sys.stdin:  # the test closes stdin to stop us
        if json.loads(line)["op"] == "rooms":
            # Called on this (main) thread while the browser thread runs: thread-safe API.
            rooms = sorted(ad.instance for ad in browser.rooms())
            _say({"event": "rooms", "instances": rooms})
    browser.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    adv = sub.add_parser("advertise")
    adv.add_argument("--host", required=True)
    adv.add_argument("--interface", action="append", default=[])
    adv.add_argument("--interval", type=float, default=0.5)
    brw = sub.add_parser("browse")
    brw.add_argument("--interface", action="append", default=[])
    brw.add_argument("--fail-first", action="store_true", help="the first callback raises")
    brw.add_argument("--probe-interval", type=float, default=2.0)
    args = parser.parse_args()
    if args.mode == "advertise":
        asyncio.run(_advertise(args))
    else:
        _browse(args)


if __name__ == "__main__":
    main()
