"""The README as a newcomer reads it: its samples are the real output, its lists complete (#14)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from lanchat import __version__, cli
from lanchat.config import default_server_name
from tests.support import run_serve_process

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def _console_sample(command: str) -> list[str]:
    """The lines the README shows `$ COMMAND` printing, in its console block."""
    block = README.split(f"```console\n$ {command}\n", 1)[1]
    return block.split("```", 1)[0].splitlines()


async def test_serve_sample_is_the_real_start_output(tmp_path: Path) -> None:
    async with run_serve_process(tmp_path, web=True) as server:
        real = server.output[: server.output.index(f"ready: port {server.port}") + 1]
    # The QR code's lines (block characters only) are one line of words in the sample.
    qr = [i for i, line in enumerate(real) if line and set(line) <= set(" █▀▄")]
    real[qr[0] : qr[-1] + 1] = ["[the QR code of that address, in block characters]"]
    web_port = next(line for line in real if "http://" in line).rsplit(":", 1)[1].strip("/")
    sample = _console_sample("lanchat serve")
    shown = "\n".join(sample[: sample.index("ready: port 6667") + 1])
    for readme_value, real_value in [
        ("0.1.0", __version__),
        ("alice-laptop.local", default_server_name()),
        ("/home/alice/.local/share/lanchat", str(tmp_path)),
        ("192.168.1.5:6667", f"127.0.0.1:{server.port}"),
        ("192.168.1.5:8080", f"127.0.0.1:{web_port}"),
        ("port 6667", f"port {server.port}"),
        ("port 6697", f"port {server.tls_port}"),
        ("9c2e51d0a3b1f4e8c7d6a5b4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4", server.fingerprint),
    ]:
        shown = shown.replace(readme_value, real_value)
    assert shown.splitlines() == real


@pytest.mark.parametrize("command", ["serve", "chat", "rooms", "search"])
def test_every_flag_is_in_the_readme(command: str) -> None:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for action in sub.choices[command]._actions:
        if isinstance(action, argparse._HelpAction) or not action.option_strings:
            continue  # help, and positional arguments (search's WORDS)
        assert any(re.search(f"`{flag}[` ]", README) for flag in action.option_strings), (
            f"lanchat {command} {'/'.join(action.option_strings)}"
        )


def test_every_package_scripts_test_installs_is_in_the_readme() -> None:
    script = (REPO / "scripts" / "test").read_text()
    call = script.split("apt_need ", 1)[1].split("||", 1)[0]
    packages = re.findall(r":([\w.+-]+)", call)
    assert packages
    said = README.split("`scripts/test` installs", 1)[1].split("\n\n", 1)[0]
    for package in packages:
        assert package in said, package
