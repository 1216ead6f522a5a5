"""The launcher's Join of a room that offers TLS (issue #17), on a real (namespaced) LAN.

One machine runs `lanchat serve --no-plain` (TLS only) and advertises #party over real mDNS,
its TXT carrying `tls=` and `fp=`; a rogue advertiser on the same machine publishes #party
too, pointing at the same TLS port with a certificate fingerprint that server does not have.
The other machine runs the real launcher (tests/gui/launcher_agent.py: its own discovery
browser, its real `lanchat chat` windows). Its Join of the real room opens a chat window that
joins over TLS and pins the advertised fingerprint, as the chat window's own Rooms page does;
its Join of the rogue one opens a window that refuses the certificate with the Rooms page's
warning ("Certificate changed") and sends nothing.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from lanchat.client.pins import PinStore
from tests.discovery.netns import AGENT, Agent
from tests.gui.lan import bridged_namespaces
from tests.support import SERVE_READY_TIMEOUT_S, ServerProcess

pytestmark = [pytest.mark.gui, pytest.mark.netns]

STEP_TIMEOUT_S = 20.0
ROGUE_FP = "0123" * 16


def has_rows(rows: list[list[str]]) -> Any:
    return lambda o: all(row in o["rows"] for row in rows)


async def window_titled(title: str) -> bool:
    """Whether a window with this title is on the display (a dialog of another process)."""
    found = await asyncio.create_subprocess_exec(
        "xdotool", "search", "--name", f"^{title}$", stdout=asyncio.subprocess.DEVNULL
    )
    return await found.wait() == 0


async def test_the_launchers_join_connects_over_tls_as_the_rooms_page_does(
    tmp_path: Path,
) -> None:
    with bridged_namespaces(2) as [host_ns, alice_ns]:
        proc = await asyncio.create_subprocess_exec(
            *host_ns.argv(sys.executable, "-m", "lanchat", "serve", "--host", "0.0.0.0",
                          "--port", "0", "--tls-port", "0", "--data-dir", str(tmp_path / "room"),
                          "--no-web", "--no-plain", "--room", "#party"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        server = ServerProcess(proc)
        rogue = await Agent.start(host_ns, str(AGENT), "advertise", "--host", "rogue", script=False)
        config = tmp_path / "config"
        launcher = await Agent.start(
            alice_ns, "-m", "tests.gui.launcher_agent", "--data-root", str(tmp_path / "hosted"),
            "--config-home", str(config), script=False,
        )  # fmt: skip
        agents = [rogue, launcher]
        try:
            await server.wait_for_output("ready: port ", SERVE_READY_TIMEOUT_S)
            tls_line = await server.wait_for_output("tls: port ")
            tls_port, fingerprint = int(tls_line.split()[2].rstrip(",")), tls_line.split()[-1]
            bob = await Agent.start(host_ns, "-m", "tests.gui.irc_probe", "--tls", "--nick",
                                    "bob", "--join", "#party", "--port", str(tls_port),
                                    script=False)  # fmt: skip
            agents.append(bob)
            await bob.expect("joined", timeout_s=STEP_TIMEOUT_S)
            await rogue.expect("ready", timeout_s=STEP_TIMEOUT_S)
            rogue.send(op="publish", room="#party", port=tls_port, tls=tls_port, fp=ROGUE_FP)
            await launcher.expect("ready", timeout_s=STEP_TIMEOUT_S)
            listed = await launcher.expect(
                "lan", lambda o: len([r for r in o["rows"] if r[0] == "#party"]) == 2,
                timeout_s=STEP_TIMEOUT_S,
            )  # fmt: skip
            [host] = [r[1] for r in listed["rows"] if r[0] == "#party" and r[1] != "rogue"]
            where = f"ircs://{host_ns.address}:{tls_port}"

            launcher.send(cmd="join", room="#party", host=host)
            opened = await launcher.expect("opened", lambda o: len(o["calls"]) == 1)
            assert opened["calls"][0] == [
                "--connect", f"{where}?fp={fingerprint}&pin=lan%3A{host}", "--join", "#party",
            ]  # fmt: skip
            # The window is in #party: over TLS, the server has no other port.
            await bob.expect("line", lambda o: " JOIN " in o["line"] and "bob!" not in o["line"],
                             timeout_s=STEP_TIMEOUT_S)  # fmt: skip
            assert PinStore(config / "lanchat" / "pins.json").get(f"lan:{host}") == fingerprint

            launcher.send(cmd="join", room="#party", host="rogue")
            opened = await launcher.expect("opened", lambda o: len(o["calls"]) == 2)
            assert opened["calls"][1][1] == f"{where}?fp={ROGUE_FP}&pin=lan%3Arogue"
            for _ in range(int(STEP_TIMEOUT_S / 0.2)):
                if await window_titled("Certificate changed"):
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("the rogue room's certificate was not questioned")
            assert PinStore(config / "lanchat" / "pins.json").get("lan:rogue") is None
            pins = json.loads((config / "lanchat" / "pins.json").read_text())
            assert pins == {f"lan:{host}": fingerprint}
        finally:
            for agent in agents:
                await agent.close()
            await server.stop()
