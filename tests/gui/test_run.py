"""`lanchat chat` as people start it: a separate process with its own window."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from lanchat.launcher.supervisor import RoomReady, Supervisor
from tests.discovery.netns import Agent, Namespace
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


async def probe(ns: Namespace, port: int, nick: str) -> Agent:
    """A plain IRC client in #party on the server at 127.0.0.1:`port` in `ns`."""
    agent = await Agent.start(
        ns, "-m", "tests.gui.irc_probe", "--port", str(port), "--nick", nick, "--join", "#party",
        script=False,
    )  # fmt: skip
    await agent.expect("joined", timeout_s=20)
    return agent


@asynccontextmanager
async def alice_chat(
    ns: Namespace, tmp_path: Path, *args: str
) -> AsyncIterator[Callable[[Agent], Awaitable[None]]]:
    """`lanchat chat --nick alice ARGS` in `ns`; yields "wait until this client sees alice
    join" (failing at once, with its stderr, when the chat window exits instead)."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    errors = (tmp_path / "alice.stderr").open("w+")
    alice = await asyncio.create_subprocess_exec(
        *ns.argv(sys.executable, "-m", "lanchat", "chat", "--nick", "alice", *args),
        env=env, stderr=errors,
    )  # fmt: skip

    async def sees_alice_join(client: Agent) -> None:
        joined = client.expect("line", lambda o: o["line"].startswith(":alice!"), timeout_s=20)
        ended = asyncio.ensure_future(alice.wait())
        done, _ = await asyncio.wait(
            [asyncio.ensure_future(joined), ended], return_when=asyncio.FIRST_COMPLETED
        )
        errors.seek(0)
        assert not ended.done(), f"lanchat chat exited early: {errors.read()}"
        ended.cancel()
        await next(iter(done))

    try:
        yield sees_alice_join
    finally:
        if alice.returncode is None:
            alice.terminate()
        await alice.wait()
        errors.close()


@pytest.mark.netns
async def test_chat_connect_and_join_from_the_command_line(tmp_path: Path) -> None:
    # `lanchat chat` browses for rooms with mDNS, so everything runs in a fresh namespace:
    # the room server, bob (a plain IRC client) and alice's chat window.
    with bridged_namespaces(1) as [ns]:
        sup = Supervisor(data_root=tmp_path / "hosted", prefix=ns.argv(), serve_args=["--no-mdns"])
        hosted = sup.start("#party")
        try:
            assert isinstance(await asyncio.to_thread(sup.events.get, timeout=20), RoomReady)
            bob = await probe(ns, hosted.port, "bob")
            try:
                where = f"127.0.0.1:{hosted.port}"
                async with alice_chat(ns, tmp_path, "--connect", where, "--join", "party") as sees:
                    await sees(bob)
            finally:
                await bob.close()
        finally:
            sup.stop_all()
    saved = (tmp_path / "config" / "lanchat" / "settings.json").read_text()
    assert '"nick": "alice"' in saved


@pytest.mark.netns
async def test_chat_with_several_connect_addresses_moves_to_the_next_when_one_dies(
    tmp_path: Path,
) -> None:
    # A clustered room's nodes (issue 20), as the launcher's Join passes them: two servers of
    # #party, bob on the first, carol on the second. The first is killed: alice's window moves
    # to the second and joins #party there.
    with bridged_namespaces(1) as [ns]:
        supervisors = [
            Supervisor(data_root=tmp_path / name, prefix=ns.argv(), serve_args=["--no-mdns"])
            for name in ("node-a", "node-b")
        ]
        try:
            nodes = [sup.start("#party") for sup in supervisors]
            for sup in supervisors:
                assert isinstance(await asyncio.to_thread(sup.events.get, timeout=20), RoomReady)
            bob, carol = [
                await probe(ns, node.port, nick)
                for node, nick in zip(nodes, ("bob", "carol"), strict=True)
            ]
            connects = [arg for node in nodes for arg in ("--connect", f"127.0.0.1:{node.port}")]
            try:
                async with alice_chat(ns, tmp_path, *connects, "--join", "#party") as sees:
                    await sees(bob)
                    assert nodes[0].process is not None
                    nodes[0].process.kill()
                    await sees(carol)
            finally:
                await bob.close()
                await carol.close()
        finally:
            for sup in supervisors:
                sup.stop_all()


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
