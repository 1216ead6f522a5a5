"""The command line: help texts and errors, run as a real subprocess."""

import subprocess
import sys

import pytest

SERVE_FLAGS = (
    "--host",
    "--port",
    "--data-dir",
    "--password",
    "--no-mdns",
    "--room",
    "--key",
    "--config",
)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lanchat", *args], capture_output=True, text=True, timeout=30
    )


def test_help_lists_every_command() -> None:
    out = run_cli("--help")
    assert out.returncode == 0
    for command in ("serve", "chat", "rooms", "launcher"):
        assert command in out.stdout


def test_serve_help_documents_the_contract_flags() -> None:
    out = run_cli("serve", "--help")
    assert out.returncode == 0
    for flag in SERVE_FLAGS:
        assert flag in out.stdout


@pytest.mark.parametrize("command", ["chat", "rooms", "launcher"])
def test_each_subcommand_has_help(command: str) -> None:
    out = run_cli(command, "--help")
    assert out.returncode == 0
    assert "usage: lanchat " + command in out.stdout


def test_bad_config_value_is_one_line_and_exit_2(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = run_cli("serve", "--port", "99999", "--data-dir", str(tmp_path), "--no-mdns")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "lanchat: error: [server] port must be between 0 and 65535, not 99999"
    )
