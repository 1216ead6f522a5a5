"""The server's TLS certificate (lanchat.server.certificate) and the TLS flags of `lanchat serve`.

Spec: issue #17 ("TLS, on by default"): a self-signed certificate made at the first start and
kept (key 0600) so that its fingerprint is stable; --cert/--cert-key for the host's own;
--no-tls, --no-plain. Fingerprints are checked against real openssl.
"""

from __future__ import annotations

import asyncio
import stat
import subprocess
from pathlib import Path

import pytest

from lanchat.server.certificate import KEY_FILE
from tests.server.clients import registered
from tests.server.test_serve_cli import rooms_seen_from, run_to_exit, serving_on_a_lan
from tests.support import run_serve_process, serve_argv


def openssl_fingerprint(pem: Path) -> str:
    """openssl's SHA-256 fingerprint of a PEM certificate, in lanchat's form (lowercase hex)."""
    out = subprocess.run(
        ["openssl", "x509", "-in", str(pem), "-noout", "-fingerprint", "-sha256"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.strip().split("=", 1)[1].replace(":", "").lower()


async def test_first_start_makes_a_key_only_its_owner_can_read(tmp_path: Path) -> None:
    async with run_serve_process(tmp_path / "data") as server:
        assert server.fingerprint
    mode = stat.S_IMODE((tmp_path / "data" / KEY_FILE).stat().st_mode)
    assert mode == 0o600


async def test_certificate_survives_a_restart(tmp_path: Path) -> None:
    async with run_serve_process(tmp_path / "data") as first:
        pass
    async with run_serve_process(tmp_path / "data") as second:
        pass
    assert first.fingerprint == second.fingerprint
    assert len(first.fingerprint) == 64


async def test_own_certificate_is_served_with_its_openssl_fingerprint(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-subj", "/CN=classroom.local", "-days", "30",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    flags = ("--cert", str(cert), "--cert-key", str(key))
    async with run_serve_process(tmp_path / "data", *flags) as server:
        assert server.fingerprint == openssl_fingerprint(cert)
        await registered(server.tls_port, "alice", tls=True)
    assert not (tmp_path / "data" / KEY_FILE).exists()


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ("garbage", "are not a PEM certificate and its private key"),
        ("missing", "does not exist; check --cert and --cert-key"),
        ("no key", "--cert and --cert-key go together"),
    ],
)
async def test_bad_cert_is_one_line_and_exit_2(tmp_path: Path, files: str, says: str) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    if files == "garbage":
        cert.write_text("not a certificate\n")
        key.write_text("not a key\n")
    flags = ["--cert", str(cert)] + ([] if files == "no key" else ["--cert-key", str(key)])
    status, out, err = await run_to_exit(*serve_argv(tmp_path / "data", *flags))
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("lanchat: error: ") and says in err, err
    assert "ready" not in out


async def test_no_plain_listens_for_tls_only(tmp_path: Path) -> None:
    async with run_serve_process(tmp_path / "data", "--no-plain") as server:
        assert server.port == server.tls_port
        assert any(f"ircs://127.0.0.1:{server.port}/#lobby" in line for line in server.output)
        await registered(server.port, "alice", tls=True)


async def test_no_tls_listens_for_plain_tcp_only(tmp_path: Path) -> None:
    async with run_serve_process(tmp_path / "data", "--no-tls") as server:
        assert server.tls_port == 0
        await registered(server.port, "alice")
    assert not (tmp_path / "data" / KEY_FILE).exists()


async def test_no_tls_and_no_plain_together_is_one_line_and_exit_2(tmp_path: Path) -> None:
    status, _, err = await run_to_exit(*serve_argv(tmp_path, "--no-tls", "--no-plain"))
    assert status == 2
    assert (
        err == "lanchat: error: --no-plain needs TLS: leave out --no-tls ([tls] enabled = true)\n"
    )


async def test_tls_port_in_use_names_the_tls_flag(tmp_path: Path) -> None:
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = blocker.sockets[0].getsockname()[1]
    async with blocker:
        status, _, err = await run_to_exit(*serve_argv(tmp_path, "--tls-port", str(port)))
    assert status == 2
    assert "pick another port with --tls-port" in err


async def test_openssl_on_the_lan_gets_the_certificate_the_txt_record_advertises(
    tmp_path: Path,
) -> None:
    async with serving_on_a_lan(tmp_path / "data") as (host, guest, server):
        tls_line = next(line for line in server.output if line.startswith("tls: port "))
        banner_fp = tls_line.split()[-1]
        txt = (await rooms_seen_from(guest))["#lobby"]
        assert txt["tls"] == 6697
        assert txt["fp"] == banner_fp
        # Machine B asks the TLS port itself, with openssl, for the certificate.
        s_client = await asyncio.create_subprocess_exec(
            *guest.argv("openssl", "s_client", "-connect", f"{host.address}:6697"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await asyncio.wait_for(s_client.communicate(), 20)
        pem = tmp_path / "served.pem"
        pem.write_bytes(out)  # openssl x509 takes the PEM block out of the session dump
        assert openssl_fingerprint(pem) == txt["fp"]
