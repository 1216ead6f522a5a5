"""Faults that would lose history in silence, against real `lanchat serve` processes.

Issue 13, item 10: a database that cannot be written is refused at start (one line, exit 2)
instead of "ready" followed by refused messages; deleting the database or its WAL under a
running server is noticed, said and repaired from the open connection, so a restart finds
every message; a second server on the same data directory exits and names the first.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from pathlib import Path

import pytest

from lanchat.store import HistoryDB
from tests.server.clients import registered
from tests.server.test_durability import HISTORY_CAPS, history
from tests.support import ServerProcess, serve_argv, start_lanchat

ServeProcess = Callable[..., AbstractAsyncContextManager[ServerProcess]]


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    """`chattr +i path` for the block: not even root may write, rename or delete it."""
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


async def refused_at_start(data_dir: Path) -> str:
    """Start `lanchat serve` on `data_dir`; assert it exits 2 before "ready"; its stderr."""
    server = ServerProcess(await start_lanchat(*serve_argv(data_dir)))
    try:
        assert await server.wait() == 2
        assert not any(line.startswith("ready") for line in server.output)
        return await server.stderr_text()
    finally:
        await server.stop()


@pytest.mark.parametrize("what", ["file", "directory"])
async def test_immutable_database_or_directory_is_refused_at_start(
    tmp_path: Path, what: str
) -> None:
    data = tmp_path / "data"
    HistoryDB(data / "history.sqlite3").close()
    with immutable(data / "history.sqlite3" if what == "file" else data):
        stderr = await refused_at_start(data)
    [line] = stderr.splitlines()
    assert line.startswith("lanchat: error: cannot write to ")
    assert line.endswith("--data-dir")


async def test_second_server_on_one_data_directory_exits_naming_the_first(
    serve_process: ServeProcess, tmp_path: Path
) -> None:
    async with serve_process() as first:
        stderr = await refused_at_start(tmp_path / "data")
        alice = await registered(first.port, "alice", "#lobby")  # the first goes on serving
        await alice.close()
    assert stderr == (
        f"lanchat: error: data directory {tmp_path / 'data'} is in use by another lanchat "
        f"server (process {first.proc.pid}); stop that one or choose another directory with "
        "--data-dir\n"
    )


@pytest.mark.parametrize("deleted", ["history.sqlite3", "history.sqlite3-wal"])
async def test_database_or_wal_deleted_while_serving_is_recreated_and_nothing_is_lost(
    serve_process: ServeProcess, tmp_path: Path, deleted: str
) -> None:
    data = tmp_path / "data"
    async with serve_process() as server:
        alice = await registered(
            server.port, "alice", "#lobby", caps=(*HISTORY_CAPS, "echo-message")
        )
        for i in range(20):
            alice.send(f"PRIVMSG #lobby :before {i}")
        await alice.expect("PRIVMSG", lambda m: m.params[1] == "before 19")
        os.unlink(data / deleted)
        said = await server.wait_for_output("was deleted while lanchat was running")
        for i in range(20):
            alice.send(f"PRIVMSG #lobby :after {i}")
        await alice.expect("PRIVMSG", lambda m: m.params[1] == "after 19")
        await alice.close()
    assert said == (
        f"{data / deleted} was deleted while lanchat was running; recreated "
        f"{data / 'history.sqlite3'} from the open database, no message was lost"
    )
    async with serve_process() as server:
        bob = await registered(server.port, "bob", "#lobby", caps=HISTORY_CAPS)
        stored = [m.params[1] for m in await history(bob, "#lobby")]
        await bob.close()
    assert stored == [f"before {i}" for i in range(20)] + [f"after {i}" for i in range(20)]
