"""`lanchat serve` with the browser client, as people run it: flags, config, output, errors.

Spec: issue 16 ("One process": --web-port, 0 picks a free port and prints it, --no-web, a [web]
section; "Getting people there": the web address per LAN address and a QR code of it).
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import aiohttp

from lanchat.web.qr import qr_text
from tests.server.test_serve_cli import run_to_exit
from tests.support import ServerProcess, run_serve_process, serve_argv, start_lanchat

_WEB_URL = re.compile(r"^  http://127\.0\.0\.1:(\d+)/$")


def web_ports(output: list[str]) -> list[int]:
    """The ports of the web addresses a server printed."""
    return [int(m.group(1)) for line in output if (m := _WEB_URL.match(line))]


async def page_status(port: int) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/") as r:
        return r.status


async def test_web_port_0_prints_the_chosen_port_and_its_qr_code(tmp_path: Path) -> None:
    async with run_serve_process(tmp_path / "data", web=True) as server:
        output = server.output
        [port] = web_ports(output)
        assert port not in (0, server.port)
        assert await page_status(port) == 200
        url_at = output.index(f"  http://127.0.0.1:{port}/")
        ready_at = output.index(f"ready: port {server.port}")
        qr = qr_text(f"http://127.0.0.1:{port}/").splitlines()
        assert output[url_at + 1 : ready_at] == qr


async def test_no_web_serves_no_page(tmp_path: Path) -> None:
    async with run_serve_process(tmp_path / "data", web=False) as server:
        assert web_ports(server.output) == []
        assert not any("http://" in line for line in server.output)


async def test_web_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        status, out, err = await run_to_exit(
            *serve_argv(tmp_path, "--web-port", str(port), web=True)
        )
    assert status == 2
    assert err.splitlines() == [
        f"lanchat: error: port {port} on 127.0.0.1 is already in use (another lanchat or web "
        "server?); stop it or pick another port with --web-port"
    ]
    assert "ready" not in out


async def test_web_section_of_the_config_file_sets_the_port(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    config = tmp_path / "lanchat.toml"
    config.write_text(f"[web]\nport = {port}\n")
    argv = ("serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(tmp_path / "data"),
            "--no-mdns", "--config", str(config))  # fmt: skip
    server = ServerProcess(await start_lanchat(*argv))
    try:
        await server.wait_for_output(lambda line: line.startswith("ready: port "))
        assert web_ports(server.output) == [port]
        assert await page_status(port) == 200
    finally:
        await server.stop()
