"""Test helpers that read like the spec: a line-oriented IRC test client over real sockets.

Use asyncio timeouts, never sleep-polling: every wait has a deadline and fails with what was
received so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

from lanchat.config import Config
from lanchat.config import load as config_load
from lanchat.protocol import Message, parse

DEFAULT_TIMEOUT_S = 5.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on `host`."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def insecure_tls_context() -> ssl.SSLContext:
    """A client context that takes any certificate: the tests check fingerprints themselves."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class LineClient:
    """A raw IRC connection for tests: send lines, expect messages.

    Every received message is kept in `seen` so that a failed expectation can show them.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader  # asyncio stream from the server
        self.writer = writer  # asyncio stream to the server
        self.seen: list[Message] = []  # everything received, in order
        self._pending: list[Message] = []  # received but not yet consumed by expect()

    @classmethod
    async def connect(
        cls, port: int, host: str = "127.0.0.1", source: str = "", *, tls: bool = False
    ) -> LineClient:
        """Connect to `host`:`port`, from the local address `source` if given ("127.0.0.2":
        another loopback address stands in for another machine on the LAN); with `tls`, over
        TLS accepting any certificate (as IRC clients do for self-signed ones when told to)."""
        local = (source, 0) if source else None
        context = insecure_tls_context() if tls else None
        reader, writer = await asyncio.open_connection(
            host, port, limit=1 << 20, local_addr=local, ssl=context
        )
        return cls(reader, writer)

    async def register(
        self, nick: str, user: str | None = None, caps: tuple[str, ...] = ()
    ) -> None:
        """NICK/USER (and CAP negotiation when `caps` is given); wait for 001 and end of MOTD."""
        if caps:
            self.send("CAP LS 302")
            self.send("CAP REQ :" + " ".join(caps))
        self.send(f"NICK {nick}")
        self.send(f"USER {user or nick} 0 * :{nick} test")
        if caps:
            await self.expect("CAP", lambda m: len(m.params) > 1 and m.params[1] == "ACK")
            self.send("CAP END")
        await self.expect_numeric("001")
        await self.expect(lambda m: m.command in ("376", "422"))

    def send(self, line: str | bytes) -> None:
        data = line if isinstance(line, bytes) else line.encode("utf-8")
        if not data.endswith(b"\n"):
            data += b"\r\n"
        self.writer.write(data)

    async def _next(self, timeout_s: float) -> Message:
        if self._pending:
            return self._pending.pop(0)
        raw = await asyncio.wait_for(self.reader.readline(), timeout_s)
        if not raw:
            raise ConnectionError("server closed the connection")
        msg = parse(raw)
        self.seen.append(msg)
        return msg

    async def expect(
        self,
        what: str | Callable[[Message], bool],
        where: Callable[[Message], bool] | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> Message:
        """Wait for the first message matching `what` (a command or a predicate) and `where`.

        Messages that do not match stay available for later expect() calls, in order.
        Answers PING on the way.
        """

        def ok(m: Message) -> bool:
            hit = m.verb == what.upper() if isinstance(what, str) else what(m)
            return hit and (where is None or where(m))

        skipped: list[Message] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError
                m = await self._next(remaining)
                if ok(m):
                    return m
                if m.verb == "PING":
                    self.send("PONG :" + (m.params[-1] if m.params else ""))
                skipped.append(m)
        except TimeoutError:
            got = "\n  ".join(x.to_line() for x in skipped[-20:])
            raise AssertionError(f"expected {what!r} within {timeout_s}s; got:\n  {got}") from None
        finally:
            self._pending[:0] = skipped

    async def expect_numeric(self, numeric: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> Message:
        """Wait for the numeric reply `numeric` (e.g. "433")."""
        return await self.expect(numeric, timeout_s=timeout_s)

    async def expect_closed(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> list[Message]:
        """Read until the server closes the connection; return what came before.

        Raises:
            AssertionError: the connection was still open after `timeout_s`. (TimeoutError is
                an OSError since Python 3.11, so it is caught first: a connection that never
                closes must fail the test, not pass it.)
        """
        got: list[Message] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        try:
            while True:
                got.append(await self._next(max(deadline - loop.time(), 0.0)))
        except TimeoutError:
            seen = "\n  ".join(m.to_line() for m in got[-20:])
            raise AssertionError(
                f"expected the server to close within {timeout_s}s; still open after:\n  {seen}"
            ) from None
        except (ConnectionError, OSError):
            return got

    def drain(self) -> None:
        """Forget messages received so far but not consumed."""
        self._pending.clear()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


def server_config(data_dir: Path, **sections: dict[str, Any]) -> Config:
    """A test server configuration: 127.0.0.1, a free port (0), `data_dir`, no mDNS, no web.

    Args:
        data_dir: where the history database goes (a tmp_path).
        sections: extra settings per config section, e.g. limits={"sendq_bytes": 4096}.
    """
    overrides: dict[str, dict[str, Any]] = {
        "server": {"host": "127.0.0.1", "port": 0},
        "store": {"data_dir": str(data_dir)},
        "discovery": {"enabled": False},
        "web": {"enabled": False, "port": 0},
        "tls": {"port": 0},
    }
    for section, values in sections.items():
        overrides.setdefault(section, {}).update(values)
    return config_load(None, overrides)


SERVE_READY_TIMEOUT_S = 30.0  # interpreter start-up + imports on a loaded 2-core machine


class ServerProcess:
    """A `python -m lanchat serve` child process that has printed `ready: port N`.

    Unpacks as `(proc, port)`. Its stdout is read continuously into `output` (so the server
    never blocks on a full pipe); `wait_for_output()` waits for a line to appear.
    """

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc  # the child
        self.port = 0  # the port from its readiness line
        self.tls_port = 0  # the TLS port from its "tls: port N, ..." line (0: none)
        self.fingerprint = ""  # the certificate fingerprint from that line
        self.output: list[str] = []  # stdout lines so far, without line ends
        self._changed = asyncio.Event()  # set whenever a line arrives or stdout closes
        self._eof = False
        self._reader = asyncio.create_task(self._read())

    def __iter__(self) -> Iterator[Any]:
        return iter((self.proc, self.port))

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.output.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
            self._changed.set()
        self._eof = True
        self._changed.set()

    async def wait_for_output(
        self, predicate: str | Callable[[str], bool], timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> str:
        """The first stdout line containing `predicate` (or matching it); fails on timeout/exit."""

        def ok(line: str) -> bool:
            return predicate in line if isinstance(predicate, str) else predicate(line)

        async def scan() -> str:
            seen = 0
            while True:
                for line in self.output[seen:]:
                    if ok(line):
                        return line
                seen = len(self.output)
                if self._eof:
                    raise AssertionError(f"server exited before printing {predicate!r}")
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(scan(), timeout_s)
        except TimeoutError:
            tail = "\n  ".join(self.output[-20:])
            raise AssertionError(
                f"server printed no {predicate!r} within {timeout_s}s; got:\n  {tail}"
            ) from None

    async def stderr_text(self) -> str:
        """Everything the child wrote to stderr (waits for it to exit)."""
        assert self.proc.stderr is not None
        return (await self.proc.stderr.read()).decode("utf-8", "replace")

    async def wait(self, timeout_s: float = SERVE_READY_TIMEOUT_S) -> int:
        """Wait for the child to exit (stdout fully read); return its exit status."""
        status = await asyncio.wait_for(self.proc.wait(), timeout_s)
        await asyncio.wait_for(self._reader, timeout_s)
        return status

    async def stop(self) -> None:
        """SIGTERM (then SIGKILL after a timeout) if still running; reap it."""
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), SERVE_READY_TIMEOUT_S)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


async def start_lanchat(*args: str) -> asyncio.subprocess.Process:
    """Start `python -m lanchat ARGS...` with stdout and stderr piped (and unbuffered)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lanchat",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def serve_argv(data_dir: Path, *args: str, web: bool = False) -> tuple[str, ...]:
    """`serve --host 127.0.0.1 --port 0 --tls-port 0 --data-dir DATA_DIR --no-mdns --no-web
    ARGS...` (later flags win); with `web`, `--web-port 0` instead of `--no-web`."""
    web_flags = ("--web-port", "0") if web else ("--no-web",)
    return ("serve", "--host", "127.0.0.1", "--port", "0", "--tls-port", "0", "--data-dir",
            str(data_dir), "--no-mdns", *web_flags, *args)  # fmt: skip


@contextlib.asynccontextmanager
async def run_serve_process(
    data_dir: Path, *args: str, web: bool = False
) -> AsyncIterator[ServerProcess]:
    """Run `lanchat serve --host 127.0.0.1 --port 0 --data-dir DATA_DIR --no-mdns ARGS...`
    (`--no-web`, or with `web` the browser client on a free port).

    Later flags win, so ARGS may override the host or port. Waits for `ready: port N`.

    Yields:
        The ServerProcess (unpacks as `(proc, port)`); SIGTERMed and reaped on exit.
    """
    proc = await start_lanchat(*serve_argv(data_dir, *args, web=web))
    server = ServerProcess(proc)
    try:
        try:
            ready = await server.wait_for_output(
                lambda line: line.startswith("ready: port "), SERVE_READY_TIMEOUT_S
            )
        except AssertionError as e:
            if proc.returncode is None:
                raise
            raise AssertionError(f"{e}\nstderr: {await server.stderr_text()}") from None
        server.port = int(ready.split()[-1])
        for line in server.output:
            if line.startswith("tls: port "):
                server.tls_port = int(line.split()[2].rstrip(","))
                server.fingerprint = line.split()[-1]
        yield server
    finally:
        await server.stop()
