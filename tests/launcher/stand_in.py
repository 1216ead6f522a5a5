"""A stand-in launcher for the tests: hosts one room with the launcher's Supervisor, exactly
as the launcher window does, and waits to be ended by a signal (it handles none).

    python tests/launcher/stand_in.py DATA_ROOT HOST_ADDRESS

Prints {"pid": <the lanchat serve child's pid>, "port": N} once the room #party is ready.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from lanchat.launcher.supervisor import RoomReady, Supervisor


def main() -> None:
    data_root, host = Path(sys.argv[1]), sys.argv[2]
    supervisor = Supervisor(data_root=data_root, serve_args=["--host", host])
    hosted = supervisor.start("#party")
    event = supervisor.events.get(timeout=30)
    if not isinstance(event, RoomReady):
        sys.exit(f"the room did not start: {event}")
    assert hosted.process is not None
    print(json.dumps({"pid": hosted.process.pid, "port": hosted.port}), flush=True)
    threading.Event().wait()  # until a signal ends this process


if __name__ == "__main__":
    main()
