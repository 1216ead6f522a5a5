"""Shared fixtures. Test helpers live in tests/support.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path

import pytest
import uvloop

from lanchat.server.app import LanchatServer, running_server
from tests.support import ServerProcess, run_serve_process, server_config


@pytest.fixture
async def irc_server(tmp_path: Path) -> AsyncIterator[LanchatServer]:
    """An in-process server on 127.0.0.1 (free port, tmp data dir, no mDNS); `.port`, `.state`."""
    async with running_server(server_config(tmp_path / "data")) as server:
        yield server


@pytest.fixture
def serve_process(tmp_path: Path) -> Callable[..., AbstractAsyncContextManager[ServerProcess]]:
    """`async with serve_process(*flags) as (proc, port):` runs `lanchat serve` on 127.0.0.1
    (port 0, tmp data dir, --no-mdns), waits for `ready: port N` and stops it afterwards (see
    tests.support.run_serve_process; the yielded ServerProcess also has `.output`)."""
    return partial(run_serve_process, tmp_path / "data")


# Fixtures that create network namespaces (tests/discovery/conftest.py) or a Tk window
# (tests/gui/conftest.py): a test using one is a netns or gui test whether or not it says so,
# so `scripts/test --fast` (-m "not gui and not netns") never runs it. A module that imports
# tk_root (tests/gui/tk_support.py) builds windows of its own: all its tests are gui tests.
_NETNS_FIXTURES = frozenset({"pair", "host_and_ns"})
_GUI_FIXTURES = frozenset({"app"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests `netns` or `gui` by the fixtures they use and the helpers they import."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if _NETNS_FIXTURES & fixtures:
            item.add_marker(pytest.mark.netns)
        module = getattr(item, "module", None)
        if _GUI_FIXTURES & fixtures or getattr(module, "tk_root", None) is not None:
            item.add_marker(pytest.mark.gui)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Async tests run on the standard loop; a module that sets `ALSO_ON_UVLOOP = True` runs
    each test on uvloop as well (what `lanchat serve` uses when it is installed)."""
    factories: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
        "asyncio": asyncio.new_event_loop
    }
    if getattr(getattr(item, "module", None), "ALSO_ON_UVLOOP", False):
        factories["uvloop"] = uvloop.new_event_loop
    return factories
