"""Fixtures for discovery tests: namespaces joined by veth links, and agent processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.discovery.netns import (
    Agent,
    Namespace,
    host_link,
    namespace_pair,
    remove_stale_namespaces,
)


@pytest.fixture(scope="session", autouse=True)
def _no_stale_namespaces() -> None:
    """Clean up after an earlier run that was killed before its teardown."""
    remove_stale_namespaces()


@pytest.fixture
def pair() -> Iterator[tuple[Namespace, Namespace]]:
    """Namespaces A and B joined by a veth pair, created for this test only."""
    with namespace_pair() as namespaces:
        yield namespaces


@pytest.fixture
def host_and_ns() -> Iterator[tuple[str, Namespace]]:
    """The host end's address of a veth link to a fresh namespace, and that namespace."""
    with host_link() as link:
        yield link


@pytest.fixture
async def agents() -> AsyncIterator[list[Agent]]:
    """Agents a test started (append them); all stopped at teardown, killed if they hang."""
    started: list[Agent] = []
    yield started
    for agent in started:
        await agent.close()
