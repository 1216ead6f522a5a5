"""The command line: help texts and errors, run as a real subprocess."""

import subprocess
import sys

import pytest

from lanchat.passwords import verify_password

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


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lanchat", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_help_lists_every_command() -> None:
    out = run_cli("--help")
    assert out.returncode == 0
    for command in ("serve", "chat", "rooms", "search", "launcher", "passwd"):
        assert command in out.stdout


def test_serve_help_documents_the_contract_flags() -> None:
    out = run_cli("serve", "--help")
    assert out.returncode == 0
    for flag in SERVE_FLAGS:
        assert flag in out.stdout


def test_passwd_prints_a_hash_of_the_password_read_from_stdin() -> None:
    out = run_cli("passwd", stdin="open sesame\n")
    assert out.returncode == 0, out.stderr
    (hashed,) = out.stdout.split()
    assert hashed.startswith("scrypt$ln=14,r=8,p=1$")
    assert verify_password("open sesame", hashed)
    assert not verify_password("open sesame\n", hashed)


def test_passwd_without_a_password_is_one_line_error() -> None:
    out = run_cli("passwd")
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.startswith("lanchat: error: no password on standard input")


@pytest.mark.parametrize("command", ["chat", "rooms", "search", "launcher", "passwd"])
def test_each_subcommand_has_help(command: str) -> None:
    out = run_cli(command, "--help")
    assert out.returncode == 0
    assert "usage: lanchat " + command in out.stdout


def test_port_flag_out_of_range_is_reported_as_the_flag(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = run_cli("serve", "--port", "70000", "--data-dir", str(tmp_path), "--no-mdns")
    assert out.returncode == 2
    assert out.stderr.startswith("usage: lanchat serve ")
    assert out.stderr.splitlines()[-1] == (
        "lanchat serve: error: argument --port: '70000' is not a port number; "
        "give one from 0 to 65535 (0 picks a free port)"
    )


@pytest.mark.parametrize("command", ["serve", "chat", "rooms"])
def test_unknown_flag_shows_the_usage_of_its_command(command: str) -> None:
    out = run_cli(command, "--bogus")
    assert out.returncode == 2
    assert out.stderr.startswith(f"usage: lanchat {command} ")
    assert (
        out.stderr.splitlines()[-1] == f"lanchat {command}: error: unrecognized arguments: --bogus"
    )


def test_search_reads_the_history_of_a_data_dir(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lanchat.store import HistoryDB, HistoryRecord, RoomRecord

    db = HistoryDB(tmp_path / "history.sqlite3")
    db.append(
        [
            RoomRecord("#lobby", "#Lobby", 0),
            HistoryRecord(
                "a", 1000, "PRIVMSG", "bob!b@h", "#Lobby", "#lobby", "lanchat\nis \x1bup"
            ),
            HistoryRecord("b", 2000, "PRIVMSG", "bob!b@h", "bob", "alice bob", "lanchat private"),
        ]
    )
    db.close()
    out = run_cli("search", "--data-dir", str(tmp_path), "chat")
    assert (out.returncode, out.stderr) == (0, "")
    # Rooms only (private history is given to nobody); terminal controls spelled out.
    assert out.stdout == "1970-01-01T00:00:01.000Z #Lobby <bob> lanchat\n    is \\x1bup\n"
    out = run_cli("search", "--data-dir", str(tmp_path / "nowhere"), "chat")
    assert out.returncode == 2
    assert out.stderr.startswith("lanchat: error: there is no history database at ")
