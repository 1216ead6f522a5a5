"""Responsiveness benchmark of the chat window (issue #3: "the window never freezes").

Runs the real ChatApp with a real NetworkThread against a real `lanchat serve` on 127.0.0.1
(started by the launcher's Supervisor, flood control off), while a plain IRC connection in a
thread floods the room. A probe schedules `after(0)` callbacks every `--probe-ms` and records
how late each one runs: that delay is what a key press or a redraw waits behind the network
events. Prints a table.

Scenarios:
    steady     --rate messages per second (default 500) for --seconds (default 10)
    scrollback 10,000 messages as fast as the server relays them, then: the view holds at most
               2,000 lines, and switching tabs / scrolling to the top are timed

Usage (needs a display; scripts/test-style Xvfb works):
    DISPLAY=:1 .venv/bin/python scripts/bench_gui.py [--rate 500] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tkinter as tk
from collections.abc import Callable
from pathlib import Path

from lanchat.client.bridge import NetworkThread
from lanchat.gui.app import ChatApp
from lanchat.gui.settings import Settings
from lanchat.gui.viewmodel import conversation_key
from lanchat.launcher.supervisor import HostedRoom, RoomReady, Supervisor

ROOM = "#bench"
TARGET_WORST_MS = 50.0  # issue #3


class Flooder:
    """A plain IRC client in its own process that floods ROOM on command.

    A separate process, as on a real LAN: a sender thread inside the measured process would
    compete with the window for the GIL and measure itself.
    """

    def __init__(self, port: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--flood-port", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "joined":
            raise SystemExit("bench_gui: the flooding client could not join")

    def send(self, count: int, rate: float | None) -> None:
        """Start sending `count` messages at `rate` per second (None: as fast as possible)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{count} {rate or 0}\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


def flood(port: int) -> int:
    """The flooding process: join ROOM, then for each "COUNT RATE" line on stdin, send."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(f"NICK flood\r\nUSER flood 0 * :f\r\nJOIN {ROOM}\r\n".encode())
    buf = b""
    while b" 366 " not in buf:
        buf += sock.recv(65536)
    print("joined", flush=True)
    # Replies are read (and dropped) by a thread so the server never blocks writing to us.
    threading.Thread(target=lambda: [None for _ in iter(lambda: sock.recv(65536), b"")],
                     daemon=True).start()  # fmt: skip
    for line in sys.stdin:
        count, rate = int(line.split()[0]), float(line.split()[1])
        start = time.monotonic()
        batch = 10  # paced in groups: a sleep per message would be coarser than 2 ms
        for i in range(0, count, batch):
            data = "".join(
                f"PRIVMSG {ROOM} :message {n} with some ordinary chat text in it\r\n"
                for n in range(i, min(i + batch, count))
            )
            sock.sendall(data.encode())
            if rate:
                ahead = start + (i + batch) / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
    return 0


class Probe:
    """Measures how late `after(0)` callbacks run on the Tk thread."""

    def __init__(self, root: tk.Tk, every_ms: int) -> None:
        self.root = root
        self.every_ms = every_ms
        self.delays_ms: list[float] = []
        self.running = False

    def start(self) -> None:
        self.running = True
        self.delays_ms.clear()
        self._schedule()

    def _schedule(self) -> None:
        if not self.running:
            return
        t0 = time.perf_counter()
        self.root.after(0, lambda: self._ran(t0))

    def _ran(self, t0: float) -> None:
        self.delays_ms.append((time.perf_counter() - t0) * 1000)
        self.root.after(self.every_ms, self._schedule)


def wait(root: tk.Tk, predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Run the Tk event loop (as mainloop would) until `predicate()`; give up after timeout_s."""
    done = tk.StringVar(root, "")
    deadline = time.monotonic() + timeout_s

    def check() -> None:
        if predicate():
            done.set("ok")
        elif time.monotonic() > deadline:
            done.set("timeout")
        else:
            root.after(20, check)

    root.after(0, check)
    root.wait_variable(done)
    check = None  # type: ignore[assignment]  # break the closure's cycle so `done` is freed here
    if done.get() == "timeout":
        raise SystemExit(f"bench_gui: timed out waiting for {what}")


def start_room(tmp: Path) -> tuple[Supervisor, HostedRoom]:
    config = tmp / "bench.toml"
    # The flood limits protect real rooms from one noisy client; the benchmark IS that client.
    config.write_text("[flood]\nenabled = false\n")
    sup = Supervisor(
        data_root=tmp / "hosted",
        serve_args=["--host", "127.0.0.1", "--no-mdns", "--config", str(config)],
    )
    hosted = sup.start(ROOM)
    try:
        event = sup.events.get(timeout=30)
    except queue.Empty:
        raise SystemExit("bench_gui: the server did not start within 30 s") from None
    if not isinstance(event, RoomReady):
        raise SystemExit(f"bench_gui: the server did not start: {event}")
    return sup, hosted


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the steady run")
    parser.add_argument("--scrollback", type=int, default=10_000, help="messages in the burst")
    parser.add_argument("--probe-ms", type=int, default=10, help="gap between after(0) probes")
    parser.add_argument("--flood-port", type=int, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.flood_port:
        return flood(args.flood_port)
    if not os.environ.get("DISPLAY"):
        print("bench_gui: no DISPLAY; start Xvfb (Xvfb :1 &) and set DISPLAY=:1", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="lanchat-bench-gui-"))
    sup, hosted = start_room(tmp)
    net = NetworkThread(browse=False)
    net.start()
    root = tk.Tk(className="lanchat")
    app = ChatApp(root, net, Settings(nick="viewer"), settings_path=tmp / "s.json", bell=False)
    app.start()
    rows: list[tuple[str, str]] = []
    try:
        app.connect("127.0.0.1", hosted.port, "viewer", rooms=(ROOM,))
        key = conversation_key(f"127.0.0.1:{hosted.port}", ROOM)
        wait(root, lambda: key in app.views, 20, "the room tab")
        flooder = Flooder(hosted.port)
        conv = app.model.conversations[key]
        probe = Probe(root, args.probe_ms)

        # --- steady rate
        count = int(args.rate * args.seconds)
        before = len(conv.lines)
        probe.start()
        t0 = time.monotonic()
        flooder.send(count, args.rate)
        wait(root, lambda: len(conv.lines) - before >= count, args.seconds * 10, "the messages")
        shown_s = time.monotonic() - t0
        probe.running = False
        steady = list(probe.delays_ms)
        rows += [
            ("steady: messages sent / lines added", f"{count} / {len(conv.lines) - before}"),
            ("steady: offered rate", f"{args.rate:.0f} msg/s for {args.seconds:.0f} s"),
            ("steady: all shown after", f"{shown_s:.2f} s"),
            ("steady: after(0) probes", str(len(steady))),
            ("steady: after(0) delay median", f"{statistics.median(steady):.1f} ms"),
            ("steady: after(0) delay p99", f"{percentile(steady, 0.99):.1f} ms"),
            ("steady: after(0) delay worst", f"{max(steady):.1f} ms"),
        ]

        # --- 10,000-message scrollback burst
        before = len(conv.lines)
        probe.start()
        t0 = time.monotonic()
        flooder.send(args.scrollback, None)
        wait(root, lambda: len(conv.lines) - before >= args.scrollback, 120, "the burst")
        burst_s = time.monotonic() - t0
        probe.running = False
        burst = list(probe.delays_ms)
        view = app.views[key]
        root.update()
        t = time.perf_counter()
        app.tabs.select(app.rooms_page)
        root.update()
        app.tabs.select(view)
        root.update()
        switch_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        view.text.yview_moveto(0.0)
        root.update()
        view.text.yview_moveto(1.0)
        root.update()
        scroll_ms = (time.perf_counter() - t) * 1000
        rows += [
            ("burst: messages", f"{args.scrollback} in {burst_s:.2f} s"),
            ("burst: after(0) delay p99", f"{percentile(burst, 0.99):.1f} ms"),
            ("burst: after(0) delay worst", f"{max(burst):.1f} ms"),
            (
                "scrollback: history kept / lines in view",
                f"{len(conv.lines)} / {view.line_count()}",
            ),
            ("scrollback: switch tab away and back", f"{switch_ms:.1f} ms"),
            ("scrollback: scroll top and bottom", f"{scroll_ms:.1f} ms"),
        ]
        flooder.close()
    finally:
        app.close()
        sup.stop_all()
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 24}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    worst = max(steady)
    verdict = "meets" if worst < TARGET_WORST_MS else "MISSES"
    print(f"\nworst after(0) delay at {args.rate:.0f} msg/s: {worst:.1f} ms ({verdict} the "
          f"{TARGET_WORST_MS:.0f} ms target)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
