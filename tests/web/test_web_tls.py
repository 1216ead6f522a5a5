"""`lanchat serve --web-tls`: the browser client over HTTPS with the TLS port's certificate (#17).

Spec: issue 17 ("The web page may also be served over HTTPS with the same certificate").
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from lanchat.discovery.records import fingerprint_of
from tests.server.test_serve_cli import run_to_exit
from tests.support import insecure_tls_context, run_serve_process, serve_argv
from tests.web.filehost import curl, uploader


async def test_web_tls_serves_the_page_and_irc_over_wss_with_the_tls_certificate(
    tmp_path: Path,
) -> None:
    async with run_serve_process(tmp_path / "data", "--web-tls", web=True) as server:
        [url] = [line.strip() for line in server.output if line.startswith("  https://")]
        port = int(url.rsplit(":", 1)[1].strip("/"))
        context = insecure_tls_context()
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
        assert fingerprint_of(der) == server.fingerprint  # the certificate of the TLS port
        async with aiohttp.ClientSession() as session:
            async with session.get(url, ssl=context) as page:
                assert page.status == 200
            async with session.ws_connect(
                f"wss://127.0.0.1:{port}/irc", ssl=context, protocols=("text.ircv3.net",)
            ) as ws:
                await ws.send_str("NICK alice")
                await ws.send_str("USER alice 0 * :alice")
                async with asyncio.timeout(5):
                    async for frame in ws:
                        if " 001 " in frame.data:
                            break


async def test_with_web_tls_the_upload_url_is_https(tmp_path: Path) -> None:
    async with run_serve_process(tmp_path / "data", "--web-tls", web=True) as server:
        [url] = [line.strip() for line in server.output if line.startswith("  https://")]
        up = await uploader(server.port)
        assert up.url == url + "files"
        created = await curl("-k", "-H", f"Authorization: Bearer {up.token}", "-d", "x", up.url)
        assert created.status == 201 and created.headers["location"].startswith(url + "files/")
        await up.client.close()


async def test_web_tls_without_tls_is_one_line_and_exit_2(tmp_path: Path) -> None:
    status, _, err = await run_to_exit(*serve_argv(tmp_path, "--web-tls", "--no-tls", web=True))
    assert status == 2
    assert err == (
        "lanchat: error: --web-tls needs both TLS and the web page: leave out --no-tls and "
        "--no-web\n"
    )
