"""Real third-party IRC clients against the lanchat server, talking with our client library.

- the `irc` PyPI library (jaraco/irc) on the test's own asyncio loop;
- irssi, the terminal client, driven through tmux (send-keys in, capture-pane out);
- weechat-headless, driven through its FIFO, read back through its channel log.

irssi and weechat connect over plain TCP and over TLS (#17), where they cannot verify a
self-signed certificate and are told its fingerprint instead (irssi -tls_pinned_cert,
weechat ssl_fingerprint): the fingerprint lanchat advertises is the one they accept. Our
client stays on plain TCP, so each TLS run is a TLS user chatting with a plain one.

scripts/test installs irssi, tmux and weechat-headless; these tests are never skipped.
Terminal output has no events to wait on, so those waits re-read the screen (or the log) under
one asyncio deadline.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from irc.client_aio import AioReactor

from lanchat.client.events import Action, Joined, MessageReceived
from lanchat.server.app import LanchatServer
from tests.client.test_connection import peer

TIMEOUT_S = 15.0  # a terminal client starting on a loaded 2-core machine
POLL_S = 0.1  # how often a terminal screen or a log file is re-read while waiting


async def until(
    read: Callable[[], Awaitable[str]], needle: str, timeout_s: float = TIMEOUT_S
) -> str:
    """Re-read `read()` until it contains `needle`; fail with the last text after `timeout_s`."""
    text = ""
    try:
        async with asyncio.timeout(timeout_s):
            while needle not in (text := await read()):
                await asyncio.sleep(POLL_S)
    except TimeoutError:
        raise AssertionError(f"{needle!r} not shown within {timeout_s}s; last:\n{text}") from None
    return text


# ---------------------------------------------------------------- jaraco/irc


class JaracoClient:
    """An irc.client_aio connection whose events are put on a queue as (type, source, args)."""

    def __init__(self) -> None:
        self.reactor = AioReactor(loop=asyncio.get_running_loop())
        self.conn = self.reactor.server()
        self.queue: asyncio.Queue[tuple[str, str, list[str]]] = asyncio.Queue()
        for kind in ("welcome", "join", "pubmsg", "action", "privmsg"):
            self.conn.add_global_handler(kind, self._on_event)

    def _on_event(self, _conn: Any, event: Any) -> None:
        self.queue.put_nowait((event.type, str(event.source), list(event.arguments)))

    async def expect(self, kind: str, text: str | None = None) -> tuple[str, str, list[str]]:
        async def wait() -> tuple[str, str, list[str]]:
            while True:
                item = await self.queue.get()
                if item[0] == kind and (text is None or text in item[2]):
                    return item

        return await asyncio.wait_for(wait(), TIMEOUT_S)


async def test_jaraco_irc_client_and_our_client_exchange_messages(
    irc_server: LanchatServer,
) -> None:
    async with peer(irc_server.port, "alice") as alice:
        await alice.ready()
        jaraco = JaracoClient()
        await jaraco.conn.connect("127.0.0.1", irc_server.port, "jaraco")
        try:
            await jaraco.expect("welcome")
            jaraco.conn.join("#lobby")
            await jaraco.expect("join")
            joined = await alice.expect(Joined, lambda e: e.nick == "jaraco")
            assert joined.ip == "127.0.0.1"

            jaraco.conn.privmsg("#lobby", "hello from jaraco")
            got = await alice.expect(MessageReceived, lambda e: e.nick == "jaraco")
            assert (got.text, got.ip, got.kind) == ("hello from jaraco", "127.0.0.1", "privmsg")
            jaraco.conn.action("#lobby", "waves")
            got = await alice.expect(MessageReceived, lambda e: e.nick == "jaraco")
            assert (got.text, got.kind) == ("waves", "action")

            alice.say("#lobby", "hello jaraco")
            _, source, _ = await jaraco.expect("pubmsg", "hello jaraco")
            assert source.startswith("alice!")
            alice.conn.handle(Action("alice", "#lobby", "bows"))
            await jaraco.expect("action", "bows")
            alice.say("jaraco", "just you")
            await jaraco.expect("privmsg", "just you")
        finally:
            jaraco.conn.disconnect("bye")


# ---------------------------------------------------------------- irssi in tmux


class Tmux:
    """A private tmux server (its own socket) running one program in a 200x50 pane."""

    def __init__(self) -> None:
        self.socket = f"lanchat-test-{uuid.uuid4().hex[:8]}"

    async def _run(self, *args: str, check: bool = True) -> str:
        proc = await asyncio.create_subprocess_exec(
            "tmux", "-L", self.socket, *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        if check and proc.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed: {err.decode().strip()}")
        return out.decode("utf-8", "replace")

    async def start(self, *command: str) -> None:
        await self._run("new-session", "-d", "-x", "200", "-y", "50", *command)

    async def type(self, text: str) -> None:
        """Type `text` literally, then Enter."""
        await self._run("send-keys", "-l", text)
        await self._run("send-keys", "Enter")

    async def screen(self) -> str:
        return await self._run("capture-pane", "-p")

    async def kill(self) -> None:
        """Stop the tmux server (already gone when its only program exited)."""
        await self._run("kill-server", check=False)


def fingerprint(server: LanchatServer) -> str:
    assert server.identity is not None
    return server.identity.fingerprint


@pytest.fixture
async def tmux() -> AsyncIterator[Tmux]:
    t = Tmux()
    yield t
    await t.kill()


@pytest.mark.parametrize("transport", ["plain", "tls"])
async def test_irssi_and_our_client_exchange_messages(
    irc_server: LanchatServer, tmux: Tmux, tmp_path: Path, transport: str
) -> None:
    assert shutil.which("irssi"), "irssi is not installed: scripts/test installs it (apt)"
    async with peer(irc_server.port, "alice") as alice:
        await alice.ready()
        irssi = ("env", "TERM=screen", "irssi", f"--home={tmp_path / 'irssi'}", "-n", "irssiuser")
        if transport == "plain":
            await tmux.start(*irssi, "-c", "127.0.0.1", "-p", str(irc_server.port))
        else:
            await tmux.start(*irssi)
            await until(tmux.screen, "Irssi")
            pinned = ":".join(f"{b:02X}" for b in bytes.fromhex(fingerprint(irc_server)))
            await tmux.type(
                f"/connect -tls -tls_pinned_cert {pinned} 127.0.0.1 {irc_server.tls_port}"
            )
        # The MOTD is shown once registered; a /join typed before that would be refused.
        await until(tmux.screen, "Welcome to lanchat")
        await tmux.type("/join #lobby")
        joined = await alice.expect(Joined, lambda e: e.nick == "irssiuser", timeout_s=TIMEOUT_S)
        assert joined.ip == "127.0.0.1"
        await until(tmux.screen, "#lobby")

        await tmux.type("hello from irssi")
        got = await alice.expect(
            MessageReceived, lambda e: e.nick == "irssiuser", timeout_s=TIMEOUT_S
        )
        assert (got.text, got.target, got.ip) == ("hello from irssi", "#lobby", "127.0.0.1")

        alice.say("#lobby", "hello irssi, this is lanchat")
        screen = await until(tmux.screen, "hello irssi, this is lanchat")
        assert "alice" in screen
        alice.conn.handle(Action("alice", "#lobby", "waves at irssi"))
        await until(tmux.screen, "alice waves at irssi")
        await tmux.type("/quit leaving")


# ---------------------------------------------------------------- weechat-headless


@pytest.mark.parametrize("transport", ["plain", "tls"])
async def test_weechat_headless_and_our_client_exchange_messages(
    irc_server: LanchatServer, tmp_path: Path, transport: str
) -> None:
    assert shutil.which("weechat-headless"), "weechat-headless is not installed (apt)"
    home = tmp_path / "weechat"
    home.mkdir()
    port = irc_server.port
    server = f"127.0.0.1/{port} -notls"
    if transport == "tls":
        # weechat 3.8 (Debian 12) calls TLS "ssl" in its options; 4.0 renamed them "tls".
        tls = f"-ssl -ssl_fingerprint={fingerprint(irc_server)}"
        server = f"127.0.0.1/{irc_server.tls_port} {tls}"
    setup = ";".join(
        [
            "/set irc.server_default.nicks weechatuser",
            "/set irc.server_default.autojoin #lobby",
            "/set logger.file.path ${weechat_data_dir}/logs",
            "/set logger.level.irc 9",
            "/set logger.file.flush_delay 0",  # write each line at once: the test reads it
            "/set fifo.file.path ${weechat_data_dir}/weechat_fifo",
            f"/server add lan {server}",
            "/connect lan",
        ]
    )
    async with weechat_headless(home, setup), peer(port, "alice") as alice:
        await alice.ready()
        joined = await alice.expect(Joined, lambda e: e.nick == "weechatuser", timeout_s=TIMEOUT_S)
        assert joined.ip == "127.0.0.1"

        # weechat logs the member count once its #lobby buffer exists; only then can the
        # FIFO address that buffer.
        log = home / "logs" / "irc.lan.#lobby.weechatlog"
        await until(lambda: _read(log), "Channel #lobby")
        fifo = home / "weechat_fifo"
        await _write_fifo(fifo, "irc.lan.#lobby */say hello from weechat\n")
        got = await alice.expect(
            MessageReceived, lambda e: e.nick == "weechatuser", timeout_s=TIMEOUT_S
        )
        assert (got.text, got.target) == ("hello from weechat", "#lobby")

        alice.say("#lobby", "hello weechat, this is lanchat")
        text = await until(lambda: _read(log), "hello weechat, this is lanchat")
        assert "alice" in text

        # WHOX (issue 18): weechat already asked "WHO #lobby %cuhsnfdar" on joining, as
        # the server advertises WHOX; a WHOX typed by the user shows the fields it read.
        await _write_fifo(fifo, "irc.server.lan */who #lobby %tnf,42\n")
        server_log = home / "logs" / "irc.server.lan.weechatlog"
        await until(lambda: _read(server_log), "[42] weechatuser H")
        await until(lambda: _read(server_log), "[42] alice H")


@asynccontextmanager
async def weechat_headless(home: Path, setup: str) -> AsyncIterator[None]:
    """weechat-headless with its data in `home`, running the `;`-separated `setup` commands
    at start; terminated when the block ends."""
    proc = await asyncio.create_subprocess_exec(
        "weechat-headless", f"--dir={home}", "--run-command", setup,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield
    finally:
        proc.terminate()
        await proc.wait()


async def _read(path: Path) -> str:
    return path.read_text("utf-8", "replace") if path.exists() else ""


async def _write_fifo(path: Path, line: str) -> None:
    # O_NONBLOCK: weechat has the FIFO open for reading, so the open succeeds at once.
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)
