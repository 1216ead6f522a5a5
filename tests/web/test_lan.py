"""/api/rooms across a real LAN: two `lanchat serve` in two network namespaces.

Spec: issue 16 ("`lan` are rooms other lanchat servers advertise on the LAN ... their `web`
link from the TXT `web=` key"). Needs root and iproute2 (tests/discovery/netns.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from lanchat.config import DEFAULT_WEB_PORT
from tests.discovery.netns import Namespace, namespace_pair
from tests.server.test_serve_cli import serving_in
from tests.support import SERVE_READY_TIMEOUT_S

_FETCH = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"  # noqa: E501


async def api_rooms(ns: Namespace, address: str) -> dict[str, Any]:
    """GET http://ADDRESS:8080/api/rooms from inside `ns`."""
    url = f"http://{address}:{DEFAULT_WEB_PORT}/api/rooms"
    proc = await asyncio.create_subprocess_exec(
        *ns.argv(sys.executable, "-c", _FETCH, url), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), SERVE_READY_TIMEOUT_S)
    assert proc.returncode == 0, f"GET {url} failed"
    document: dict[str, Any] = json.loads(out)
    return document


@pytest.mark.netns
async def test_api_rooms_lists_the_rooms_of_other_servers_with_their_web_address(
    tmp_path: Path,
) -> None:
    with namespace_pair() as (a, b):
        async with (
            serving_in(a, tmp_path / "a", "--room", "#games") as games,
            serving_in(b, tmp_path / "b", "--room", "#lobby"),
        ):
            document = await api_rooms(b, b.address)
            deadline = asyncio.get_running_loop().time() + 15
            while not document["lan"] and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.5)
                document = await api_rooms(b, b.address)
    assert [room["name"] for room in document["rooms"]] == ["#lobby"]
    [games_room] = document["lan"]  # B's own #lobby is not "on the LAN"
    assert games_room == {
        "name": "#games",
        "host": games_room["host"],
        "address": a.address,
        "port": games.port,
        "web": f"http://{a.address}:{DEFAULT_WEB_PORT}/",
        "addresses": [f"{a.address}:{games.port}"],
    }
    assert games_room["host"]


@pytest.mark.netns
async def test_a_file_shared_from_one_machine_downloads_byte_for_byte_on_another(
    tmp_path: Path,
) -> None:
    payload = tmp_path / "holiday.jpg"
    payload.write_bytes(os.urandom((2 << 20) + 3))
    with namespace_pair() as (a, b):
        async with serving_in(a, tmp_path / "a", "--room", "#lobby") as server:
            share = await asyncio.create_subprocess_exec(
                *b.argv(sys.executable, "-m", "tests.web.share_agent", a.address,
                        str(server.port), str(payload)),
                stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, _ = await asyncio.wait_for(share.communicate(), SERVE_READY_TIMEOUT_S)
            assert share.returncode == 0
            url, link = out.decode().split()
            assert url == f"http://{a.address}:{DEFAULT_WEB_PORT}/files"
            got = tmp_path / "got.jpg"
            fetch = await asyncio.create_subprocess_exec(
                *b.argv("curl", "-s", "-f", "-o", str(got), link)
            )
            assert await asyncio.wait_for(fetch.wait(), SERVE_READY_TIMEOUT_S) == 0
    assert got.read_bytes() == payload.read_bytes()
