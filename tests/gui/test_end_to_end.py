"""End to end on a real (namespaced) LAN: the launcher starts a room, two chat windows find
it on their Rooms page, join, talk and see each other's address; stopping the room removes it.

Three network namespaces share a bridge (tests/gui/lan.py): the launcher runs in the first
(its room server advertises over real mDNS there), alice's and bob's chat windows in the
others, each a separate process with its own window on the test display, driven over JSON
lines (tests/gui/launcher_agent.py, chat_agent.py). Screenshots are taken along the way into
build/screenshots (or $LANCHAT_SCREENSHOT_DIR); `scripts/screenshots` refreshes the README's
copies in docs/screenshots, so a plain test run never modifies tracked files.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.discovery.netns import REPO, Agent, Namespace
from tests.gui.lan import bridged_namespaces
from tests.gui.tk_support import said_by

pytestmark = [pytest.mark.gui, pytest.mark.netns]

SHOTS = Path(os.environ.get("LANCHAT_SCREENSHOT_DIR", REPO / "build" / "screenshots"))
LISTED_WITHIN_S = 3.0  # issue #3: "a client's Rooms page lists it within 3 seconds"
STEP_TIMEOUT_S = 15.0


@pytest.fixture
def lan() -> Iterator[list[Namespace]]:
    with bridged_namespaces(3) as namespaces:
        yield namespaces


def has_room(room: str) -> Any:
    return lambda o: any(row[0] == room for row in o["rows"])


def shows(text: str) -> Any:
    return lambda o: text in o["text"]


def said(who: str, text: str) -> Any:
    """The transcript has `text` in a group of messages under `who`."""
    return lambda o: said_by(o["text"], text) == who


async def shot(agent: Agent, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    agent.send(cmd="screenshot", path=str(path))
    await agent.expect("saved", lambda o: o["path"] == str(path), timeout_s=STEP_TIMEOUT_S)


async def test_launcher_room_is_found_joined_and_removed(
    lan: list[Namespace], tmp_path: Path
) -> None:
    host_ns, alice_ns, bob_ns = lan
    launcher = await Agent.start(
        host_ns, "-m", "tests.gui.launcher_agent", "--data-root", str(tmp_path), script=False
    )
    alice = await Agent.start(
        alice_ns, "-m", "tests.gui.chat_agent", "--nick", "alice", script=False
    )
    bob = await Agent.start(bob_ns, "-m", "tests.gui.chat_agent", "--nick", "bob", script=False)
    agents = [launcher, alice, bob]
    try:
        for agent in agents:
            await agent.expect("ready", timeout_s=STEP_TIMEOUT_S)
        launcher.send(cmd="start", room="#party")
        await launcher.expect(
            "hosted", lambda o: o["rows"] and o["rows"][0][3] == "running", timeout_s=STEP_TIMEOUT_S
        )
        # ready means listening and advertised: from here the Rooms pages have 3 seconds
        await alice.expect("rooms", has_room("#party"), timeout_s=LISTED_WITHIN_S)
        await bob.expect("rooms", has_room("#party"), timeout_s=LISTED_WITHIN_S)
        await launcher.expect("lan", has_room("#party"), timeout_s=STEP_TIMEOUT_S)

        alice.send(cmd="join", room="#party")
        await alice.expect("transcript", shows("You joined #party."), timeout_s=STEP_TIMEOUT_S)
        alice.send(cmd="say", text="/topic Friday LAN party: slides, snacks and a tournament")
        await alice.expect("transcript", shows("alice set the topic to"), timeout_s=STEP_TIMEOUT_S)
        # the room's advertisement follows: bob's Rooms page shows the topic and alice
        await bob.expect(
            "rooms",
            lambda o: (
                ["#party", "1", "Friday LAN party: slides, snacks and a tournament"]
                in [[r[0], r[2], r[3]] for r in o["rows"]]
            ),
            timeout_s=STEP_TIMEOUT_S,
        )
        await shot(bob, "rooms.png")
        bob.send(cmd="join", room="#party")
        await alice.expect(
            "transcript", shows(f"bob ({bob_ns.address}) joined."), timeout_s=STEP_TIMEOUT_S
        )
        alice.send(cmd="say", text="hi bob! the slides are at https://example.org/slides 🎉")
        await bob.expect(
            "transcript",
            said("alice", "hi bob! the slides are at https://example.org/slides 🎉"),
            timeout_s=STEP_TIMEOUT_S,
        )
        bob.send(cmd="say", text="thanks alice, got them")
        bob.send(cmd="say", text="/me waves")
        thanks = said("bob", "thanks alice, got them")
        await alice.expect(
            "transcript",
            lambda o: thanks(o) and "* bob waves" in o["text"],
            timeout_s=STEP_TIMEOUT_S,
        )
        await bob.expect(
            "transcript", said("You", "thanks alice, got them"), timeout_s=STEP_TIMEOUT_S
        )
        # the room's advertisement follows its user count
        await launcher.expect(
            "lan",
            lambda o: ["#party", "2"] in [[r[0], r[2]] for r in o["rows"]],
            timeout_s=STEP_TIMEOUT_S,
        )
        await shot(alice, "chat-light.png")
        bob.send(cmd="theme", name="dark")
        await shot(bob, "chat-dark.png")
        await shot(launcher, "launcher.png")

        launcher.send(cmd="stop", room="#party")
        await alice.expect("rooms", lambda o: not has_room("#party")(o), timeout_s=STEP_TIMEOUT_S)
        # the room was stopped by its host and withdrawn: said once, and not retried
        await alice.expect(
            "transcript",
            lambda o: o["connection"] == "#party was closed by its host.",
            timeout_s=STEP_TIMEOUT_S,
        )
        await bob.expect("rooms", lambda o: not has_room("#party")(o), timeout_s=STEP_TIMEOUT_S)
        await launcher.expect("hosted", lambda o: not o["rows"], timeout_s=STEP_TIMEOUT_S)
    finally:
        await asyncio.gather(*(agent.close() for agent in agents))
