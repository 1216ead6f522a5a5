"""`lanchat chat` as people start it: a separate process with its own window."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lanchat.launcher.supervisor import RoomReady, Supervisor
from tests.discovery.netns import Agent
from tests.gui.lan import bridged_namespaces

pytestmark = pytest.mark.gui


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


@pytest.mark.netns
async def test_chat_connect_and_join_from_the_command_line(tmp_path: Path) -> None:
    # `lanchat chat` browses for rooms with mDNS, so everything runs in a fresh namespace:
    # the room server, bob (a plain IRC client) and alice's chat window.
    with bridged_namespaces(1) as [ns]:
        sup = Supervisor(data_root=tmp_path / "hosted", prefix=ns.argv(), serve_args=["--no-mdns"])
        hosted = sup.start("#party")
        try:
            assert isinstance(await asyncio.to_thread(sup.events.get, timeout=20), RoomReady)
            bob = await Agent.start(
                ns, "-m", "tests.gui.irc_probe", "--port", str(hosted.port), "--nick", "bob",
                "--join", "#party", script=False,
            )  # fmt: skip
            await bob.expect("joined", timeout_s=20)
            env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
            errors = (tmp_path / "alice.stderr").open("w+")
            alice = await asyncio.create_subprocess_exec(
                *ns.argv(sys.executable, "-m", "lanchat", "chat", "--nick", "alice",
                         "--connect", f"127.0.0.1:{hosted.port}", "--join", "party"),
                env=env, stderr=errors,
            )  # fmt: skip
            try:
                joined = bob.expect("line", lambda o: o["line"].startswith(":alice!"), timeout_s=20)
                ended = asyncio.ensure_future(alice.wait())
                done, _ = await asyncio.wait(
                    [asyncio.ensure_future(joined), ended], return_when=asyncio.FIRST_COMPLETED
                )
                errors.seek(0)
                assert not ended.done(), f"lanchat chat exited early: {errors.read()}"
                await next(iter(done))
            finally:
                if alice.returncode is None:
                    alice.terminate()
                await alice.wait()
                await bob.close()
                errors.close()
        finally:
            sup.stop_all()
    saved = (tmp_path / "config" / "lanchat" / "settings.json").read_text()
    assert '"nick": "alice"' in saved


@pytest.mark.parametrize(
    ("args", "display", "message"),
    [
        (["--connect", "pc:http"], True, "lanchat: error: --connect 'pc:http': The port must be"),
        (["--nick", "9lives"], True, "lanchat: error: “9lives” cannot be a nickname"),
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
