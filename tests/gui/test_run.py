"""`lanchat chat` as people start it: a separate process with its own window."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanchat.launcher.supervisor import HostedRoom, RoomReady, Supervisor
from tests.gui.test_chat_server import RawClient

pytestmark = pytest.mark.gui


@pytest.fixture
def room(tmp_path: Path) -> Iterator[HostedRoom]:
    sup = Supervisor(data_root=tmp_path / "hosted", serve_args=["--host", "127.0.0.1", "--no-mdns"])
    hosted = sup.start("#party")
    assert isinstance(sup.events.get(timeout=20), RoomReady)
    yield hosted
    sup.stop_all()


def chat(tmp_path: Path, *args: str, display: bool = True) -> subprocess.Popen[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    if not display:
        env.pop("DISPLAY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "lanchat", "chat", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_chat_connect_and_join_from_the_command_line(tmp_path: Path, room: HostedRoom) -> None:
    bob = RawClient(room.port, "bob")
    bob.send("JOIN #party")
    bob.wait_for(" 366 ")  # bob is in the room before alice's window starts
    proc = chat(
        tmp_path, "--nick", "alice", "--connect", f"127.0.0.1:{room.port}", "--join", "party"
    )
    try:
        bob.wait_for(":alice!")  # alice's window joined #party
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(10)
        bob.close()
    saved = (tmp_path / "config" / "lanchat" / "settings.json").read_text()
    assert '"nick": "alice"' in saved


@pytest.mark.parametrize(
    ("args", "display", "message"),
    [
        (["--connect", "pc:http"], True, "lanchat: error: --connect 'pc:http': The port must be"),
        (["--nick", "9lives"], True, "lanchat: error: '9lives' cannot be a nickname"),
        ([], False, "lanchat: error: cannot open a window"),
    ],
)
def test_chat_problems_are_one_line_on_stderr(
    tmp_path: Path, args: list[str], display: bool, message: str
) -> None:
    proc = chat(tmp_path, *args, display=display)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert err.startswith(message), err
    assert "Traceback" not in err
