"""irssi and weechat log in to lanchat accounts with SASL PLAIN, weechat with SCRAM-SHA-256 too
(issue 17; irssi 1.4.3 of Debian says "Unsupported SASL mechanism" to SCRAM-SHA-256).

Driven as in test_interop.py: irssi in tmux, weechat-headless through its command line. The
account is registered first over a raw connection; the test then waits until the server holds
the client's connection logged in to it.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from lanchat.server.app import LanchatServer
from tests.client.test_interop import TIMEOUT_S, Tmux, until, weechat_headless
from tests.client.test_interop import tmux as tmux  # the fixture
from tests.server.clients import registered


async def _register(server: LanchatServer, nick: str, password: str) -> None:
    client = await registered(server.port, nick)
    client.send(f"REGISTER * * {password}")
    await client.expect("REGISTER", timeout_s=TIMEOUT_S)
    client.send("QUIT")
    await client.expect_closed()


async def _logged_in(server: LanchatServer, nick: str) -> str:
    """Wait until `nick` is registered on the server and logged in; its account."""
    async with asyncio.timeout(TIMEOUT_S):
        while True:
            user = server.state.find_user(nick)
            if user is not None and user.registered and user.account:
                return user.account
            await asyncio.sleep(0.1)


async def test_irssi_logs_in_with_sasl_plain(
    irc_server: LanchatServer, tmux: Tmux, tmp_path: Path
) -> None:
    assert shutil.which("irssi"), "irssi is not installed: scripts/test installs it (apt)"
    await _register(irc_server, "irssiuser", "irssi-secret")
    await tmux.start(
        "env", "TERM=screen", "irssi", f"--home={tmp_path / 'irssi'}", "-n", "irssiuser",
    )  # fmt: skip
    await until(tmux.screen, "Irssi")
    await tmux.type(
        "/network add -sasl_mechanism PLAIN -sasl_username irssiuser "
        "-sasl_password irssi-secret lan"
    )
    await tmux.type(f"/server add -network lan 127.0.0.1 {irc_server.port}")
    await tmux.type("/connect lan")
    assert await _logged_in(irc_server, "irssiuser") == "irssiuser"
    await until(tmux.screen, "You are now logged in as irssiuser")
    await tmux.type("/quit")


@pytest.mark.parametrize("mechanism", ["plain", "scram-sha-256"])
async def test_weechat_logs_in_with_sasl(
    irc_server: LanchatServer, tmp_path: Path, mechanism: str
) -> None:
    assert shutil.which("weechat-headless"), "weechat-headless is not installed (apt)"
    await _register(irc_server, "weechatuser", "weechat-secret")
    home = tmp_path / "weechat"
    home.mkdir()
    setup = ";".join(
        [
            "/set irc.server_default.nicks weechatuser",
            f"/server add lan 127.0.0.1/{irc_server.port} -notls",
            f"/set irc.server.lan.sasl_mechanism {mechanism}",
            "/set irc.server.lan.sasl_username weechatuser",
            "/set irc.server.lan.sasl_password weechat-secret",
            "/connect lan",
        ]
    )
    async with weechat_headless(home, setup):
        assert await _logged_in(irc_server, "weechatuser") == "weechatuser"
