"""`lanchat serve --web-tls`: the browser client over HTTPS with the TLS port's certificate (#17).

Spec: issue 17 ("The web page may also be served over HTTPS with the same certificate");
issue 21 (our client uploads to that https URL only if it presents the certificate its IRC
connection trusts).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp
import pytest

from lanchat.client.events import ConnectFailed, MessageReceived, ShareFile, ShareFinished
from lanchat.client.pins import PinStore, not_trusted
from lanchat.client.upload import UploadError, upload_file
from lanchat.discovery.records import fingerprint_of
from lanchat.store.files import files_dir
from tests.client.test_connection import peer
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


async def test_our_client_uploads_over_https_to_the_certificate_irc_trusts(
    tmp_path: Path,
) -> None:
    payload = tmp_path / "slides.pdf"
    payload.write_bytes(os.urandom(2_000_000))
    pins = PinStore(tmp_path / "pins.json")
    async with (
        run_serve_process(tmp_path / "data", "--web-tls", web=True) as server,
        peer(
            server.tls_port, "alice", tls=True, fingerprint=server.fingerprint, pins=pins
        ) as alice,
        peer(server.port, "bob") as bob,  # plain IRC, as irssi would be
    ):
        await alice.ready()
        await bob.ready()
        alice.conn.handle(ShareFile("alice", "#lobby", str(payload), 1))
        done = await alice.expect(ShareFinished)
        assert done.error == "" and done.url.startswith("https://127.0.0.1:")
        seen = await bob.expect(MessageReceived, lambda e: e.kind == "action")
        assert seen.text == f"shared slides.pdf (2.0 MB): {done.url}"
        check = aiohttp.Fingerprint(bytes.fromhex(server.fingerprint))
        async with aiohttp.ClientSession() as session, session.get(done.url, ssl=check) as got:
            assert await got.read() == payload.read_bytes()


async def test_an_upload_to_another_certificate_is_refused_as_irc_refuses_it(
    tmp_path: Path,
) -> None:
    payload = tmp_path / "a.txt"
    payload.write_bytes(b"secret")
    other = "ab" * 32  # a fingerprint that is not the server's
    async with run_serve_process(tmp_path / "data", "--web-tls", web=True) as server:
        # What the IRC connection says about a certificate it does not trust...
        pins = PinStore(tmp_path / "pins.json")
        pins.set(f"127.0.0.1:{server.tls_port}", other)
        async with peer(server.tls_port, "mallory", tls=True, pins=pins) as refused:
            failed = await refused.expect(ConnectFailed)
        assert (failed.reason, failed.hint) == not_trusted("127.0.0.1", server.tls_port)
        # ... an upload says too, and sends nothing.
        up = await uploader(server.port)
        web_port = int(up.url.rsplit(":", 1)[1].split("/")[0])
        with pytest.raises(UploadError) as refusal:
            await upload_file(up.url, payload, token=up.token, fingerprint=other)
        assert str(refusal.value) == (
            f"The certificate of 127.0.0.1:{web_port} is not trusted, so a.txt was not sent: "
            "compare its fingerprint with the one the host sees before trusting it"
        )
        assert os.listdir(files_dir(tmp_path / "data") / "kept") == []
        # The trusted fingerprint goes through on the same token.
        shared = await upload_file(up.url, payload, token=up.token, fingerprint=server.fingerprint)
        assert shared.url.startswith(up.url + "/")
        await up.client.close()


async def test_a_plain_irc_connection_cannot_vouch_for_the_https_upload(tmp_path: Path) -> None:
    payload = tmp_path / "a.txt"
    payload.write_bytes(b"x")
    async with (
        run_serve_process(tmp_path / "data", "--web-tls", web=True) as server,
        peer(server.port, "alice") as alice,
    ):
        await alice.ready()
        alice.conn.handle(ShareFile("alice", "#lobby", str(payload), 1))
        done = await alice.expect(ShareFinished)
        assert done.error == (
            "a.txt was not sent: this server takes files over HTTPS and nothing vouches for its "
            "certificate; connect to it over TLS and send the file again"
        )
