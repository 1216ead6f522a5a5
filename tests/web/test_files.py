"""Sharing files on the web port, through curl and the client library (issue 21).

Spec: draft/FILEHOST (ircv3-specifications PR #562): ISUPPORT URL, OPTIONS, POST with
Content-Type / Content-Disposition / Content-Length, 201 + Location, GET and HEAD (Range).
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest

from lanchat.client.upload import UploadError, share_text, upload_file
from lanchat.store.files import files_dir
from tests.web.filehost import curl, file_server, upload_args, uploader


def kept(data_dir: Path) -> list[str]:
    return sorted(os.listdir(files_dir(data_dir) / "kept"))


async def test_upload_is_201_with_location_and_the_file_comes_back_byte_for_byte(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    payload = tmp_path / "slides.pdf"
    payload.write_bytes(os.urandom(3 << 20))
    async with file_server(data) as server:
        up = await uploader(server.port)
        assert up.url == f"http://127.0.0.1:{server.web_port}/files"
        options = await curl("-X", "OPTIONS", up.url)
        assert options.status == 204 and "POST" in options.headers["allow"]
        created = await curl(*upload_args(up, payload, "slides.pdf", "application/pdf"))
        assert created.status == 201
        link = created.headers["location"]
        assert link.startswith(up.url + "/") and link.endswith("/slides.pdf")
        assert len(link.split("/")[-2]) >= 22  # 128 random bits or more, base64url
        got = await curl(link)
        assert got.status == 200 and got.body == payload.read_bytes()
        assert got.headers["content-type"] == "application/pdf"
        assert got.headers["content-disposition"].startswith("inline;")
        head = await curl("-I", link)
        assert head.status == 200 and head.body == b""
        assert head.headers["content-length"] == str(3 << 20)
        part = await curl("-r", "1000-1999", link)
        assert part.status == 206 and part.body == payload.read_bytes()[1000:2000]
        resumed = await curl("-r", f"{(3 << 20) - 10}-", link)
        assert resumed.body == payload.read_bytes()[-10:]
        await up.client.close()


async def test_upload_without_a_valid_token_is_401(tmp_path: Path) -> None:
    payload = tmp_path / "a.txt"
    payload.write_bytes(b"hello")
    async with file_server(tmp_path / "data") as server:
        up = await uploader(server.port)
        base = ["--data-binary", f"@{payload}", up.url]
        missing = await curl(*base)
        wrong = await curl("-H", "Authorization: Bearer not-a-token", *base)
        basic = await curl("-u", "alice:secret", *base)
        for reply in (missing, wrong, basic):
            assert reply.status == 401
            assert b"FILEHOST" in reply.body
        await up.client.close()
        gone = await curl(*upload_args(up, payload, "a.txt", "text/plain"))
        assert gone.status == 401  # the token died with its connection
    assert kept(tmp_path / "data") == []


async def test_wrong_tokens_are_throttled_like_wrong_passwords(tmp_path: Path) -> None:
    payload = tmp_path / "a.txt"
    payload.write_bytes(b"hello")
    async with file_server(tmp_path / "data") as server:
        up = await uploader(server.port)
        for _ in range(5):  # [limits] max_auth_failures
            await curl("-H", "Authorization: Bearer guess", "--data-binary", "x", up.url)
        right = await curl(*upload_args(up, payload, "a.txt", "text/plain"))
        assert right.status == 429 and "retry-after" in right.headers
        await up.client.close()


async def test_upload_over_the_limit_is_413_with_upload_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 2000)
    async with file_server(tmp_path / "data", max_file_bytes=1000) as server:
        up = await uploader(server.port)
        reply = await curl(*upload_args(up, big, "big.bin", "application/octet-stream"))
        assert reply.status == 413
        assert reply.headers["upload-limit"] == "maxsize=1000"
        assert b"1.0 kB" in reply.body
        # With Expect: 100-continue (curl's own above 1 MB), refused before the body is sent.
        proc = await asyncio.create_subprocess_exec(
            "curl", "-s", "-i", "-H", "Expect: 100-continue", "--data-binary", f"@{big}",
            "-H", f"Authorization: Bearer {up.token}", up.url, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await proc.communicate()
        assert out.startswith(b"HTTP/1.1 413 ")  # no "100 Continue" first
        await up.client.close()
    assert kept(tmp_path / "data") == []


async def test_quotas_per_uploader_and_in_all(tmp_path: Path) -> None:
    piece = tmp_path / "piece.bin"
    piece.write_bytes(b"y" * 600)
    quotas = {"quota_per_uploader_bytes": 1000, "quota_bytes": 1500}
    async with file_server(tmp_path / "data", **quotas) as server:
        alice = await uploader(server.port, "alice")
        bob = await uploader(server.port, "bob", source="127.0.0.2")
        carol = await uploader(server.port, "carol", source="127.0.0.3")
        args = ("piece.bin", "application/octet-stream")
        assert (await curl(*upload_args(alice, piece, *args))).status == 201
        mine = await curl(*upload_args(alice, piece, *args))
        assert mine.status == 413 and b"use 600 bytes of the 1.0 kB" in mine.body
        assert (await curl(*upload_args(bob, piece, *args))).status == 201
        everyone = await curl(*upload_args(carol, piece, *args))
        assert everyone.status == 507 and b"1.2 kB of 1.5 kB" in everyone.body
        for up in (alice, bob, carol):
            await up.client.close()
    assert len(kept(tmp_path / "data")) == 2


async def test_hostile_names_are_stored_under_random_names_and_served_as_attachments(
    tmp_path: Path,
) -> None:
    page = tmp_path / "page"
    page.write_bytes(b"<script>alert(document.cookie)</script>")
    data = tmp_path / "data"
    async with file_server(data) as server:
        up = await uploader(server.port)
        links = []
        for name, kind in [
            ("../../etc/passwd", "text/plain"),
            ("<script>.html", "text/html"),
            ("logo.svg", "image/svg+xml"),
        ]:
            created = await curl(*upload_args(up, page, name, kind))
            assert created.status == 201
            links.append(created.headers["location"])
        for link in links:
            got = await curl(link)
            assert got.body == page.read_bytes()
            assert got.headers["content-disposition"].startswith("attachment;")
            assert got.headers["content-security-policy"] == "sandbox; default-src 'none'"
            assert got.headers["x-content-type-options"] == "nosniff"
        assert links[0].endswith("/passwd")
        await up.client.close()
    assert not (tmp_path / "etc").exists()
    names = kept(data)
    assert len(names) == 3 and all(n.replace("-", "").replace("_", "").isalnum() for n in names)


async def test_files_expire(tmp_path: Path) -> None:
    payload = tmp_path / "a.txt"
    payload.write_bytes(b"short-lived")
    data = tmp_path / "data"
    async with file_server(data, expire_after_days=1 / 86400) as server:
        up = await uploader(server.port)
        link = (await curl(*upload_args(up, payload, "a.txt", "text/plain"))).headers["location"]
        assert (await curl(link)).status == 200
        await asyncio.sleep(2.5)  # the 1 s expiry, then the sweep (every 1 s here)
        gone = await curl(link)
        assert gone.status == 404 and b"expired" in gone.body
        assert kept(data) == []
        await up.client.close()


async def test_client_library_uploads_with_progress_and_says_the_link(tmp_path: Path) -> None:
    payload = tmp_path / "photo.png"
    payload.write_bytes(os.urandom((5 << 20) + 7))
    seen: list[tuple[int, int]] = []
    async with file_server(tmp_path / "data") as server:
        up = await uploader(server.port)
        shared = await upload_file(
            up.url, payload, token=up.token, progress=lambda *p: seen.append(p)
        )
        assert (await curl(shared.url)).body == payload.read_bytes()
        assert seen[-1] == (payload.stat().st_size, payload.stat().st_size) and len(seen) == 6
        assert share_text(shared.name, shared.size, shared.url) == (
            f"shared photo.png (5.2 MB): {shared.url}"
        )
        with pytest.raises(UploadError, match="token is not valid"):
            await upload_file(up.url, payload, token="nope")
        await up.client.close()


async def test_a_cancelled_upload_leaves_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    payload = tmp_path / "big.bin"
    payload.write_bytes(os.urandom(32 << 20))
    data = tmp_path / "data"
    async with file_server(data) as server:
        up = await uploader(server.port)
        started = asyncio.Event()
        task = asyncio.create_task(
            upload_file(up.url, payload, token=up.token, progress=lambda *_: started.set())
        )
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(50):
            if not os.listdir(files_dir(data) / "partial"):
                break
            await asyncio.sleep(0.1)
        assert os.listdir(files_dir(data) / "partial") == []
        assert kept(data) == []
        await up.client.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_an_account_uploads_with_basic_and_its_password(tmp_path: Path) -> None:
    payload = tmp_path / "notes.txt"
    payload.write_bytes(b"from alice's account")
    async with file_server(tmp_path / "data", quota_per_uploader_bytes=30) as server:
        up = await uploader(server.port)
        up.client.send("REGISTER * * secret-words")
        await up.client.expect("REGISTER", lambda m: m.params[0] == "SUCCESS")
        await up.client.close()  # Basic needs no IRC connection, only the account
        base = ["-H", "Content-Type: text/plain", "--data-binary", f"@{payload}", up.url]
        wrong = await curl("-u", "alice:not-her-words", *base)
        unknown = await curl("-u", "nobody:secret-words", *base)
        assert wrong.status == unknown.status == 401
        assert wrong.body == unknown.body  # which accounts exist is not told
        created = await curl("-u", "ALICE:secret-words", *base)
        assert created.status == 201
        assert (await curl(created.headers["location"])).body == payload.read_bytes()
        again = await curl("-u", "alice:secret-words", *base)
        assert again.status == 413  # the account's quota: 20 of 30 bytes used


async def test_a_redacted_message_takes_its_senders_file_with_it(tmp_path: Path) -> None:
    payload = tmp_path / "oops.png"
    payload.write_bytes(b"not for everyone")
    caps = ("message-tags", "echo-message", "draft/message-redaction")
    async with file_server(tmp_path / "data") as server:
        alice = await uploader(server.port, "alice", caps=caps)
        bob = await uploader(server.port, "bob", source="127.0.0.2")
        args = ("oops.png", "image/png")
        hers = (await curl(*upload_args(alice, payload, *args))).headers["location"]
        his = (await curl(*upload_args(bob, payload, *args))).headers["location"]
        alice.client.send("JOIN #lobby")
        alice.client.send(f"PRIVMSG #lobby :\x01ACTION shared {hers} and {his}\x01")
        echo = await alice.client.expect("PRIVMSG")
        alice.client.send(f"REDACT #lobby {echo.tags['msgid']}")
        await alice.client.expect("REDACT")
        for _ in range(50):
            if (await curl("-I", hers)).status == 404:
                break
            await asyncio.sleep(0.1)
        assert (await curl("-I", hers)).status == 404
        assert (await curl(his)).body == payload.read_bytes()  # bob's: not hers to delete
        for up in (alice, bob):
            await up.client.close()
