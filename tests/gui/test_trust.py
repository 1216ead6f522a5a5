"""Trusting a TLS certificate in the chat window (lanchat.gui.trust), against a real
`lanchat serve` started by the launcher's supervisor, under Xvfb (#17).

The address rules are checked without Tk; the dialogs with real widgets, found by their
accessible names, and a real network thread whose pins live in the test's own directory.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lanchat.client import events as ev
from lanchat.client.pins import PinStore
from lanchat.errors import ConfigError
from lanchat.gui.access import find, unnamed_controls
from lanchat.gui.app import ChatApp, _connect_argument
from lanchat.gui.dialogs import connect_argument, parse_connect, validate_connect
from lanchat.gui.trust import TrustDialog, grouped, split_scheme
from lanchat.gui.viewmodel import RoomRow
from lanchat.launcher.supervisor import HostedRoom
from tests.gui.tk_support import run_until, tk_root

ROGUE_FP = "0123" * 16


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ircs://10.0.0.5/#lobby", ("10.0.0.5", 6697, True)),
        ("ircs://10.0.0.5:41000", ("10.0.0.5", 41000, True)),
        ("10.0.0.5:6697", ("10.0.0.5", 6697, True)),  # the IRC-over-TLS port (RFC 7194)
        ("irc://10.0.0.5:6697/", ("10.0.0.5", 6697, False)),  # the scheme wins
        ("10.0.0.5", ("10.0.0.5", 6667, False)),
        ("IRCS://[fe80::1]:7000", ("fe80::1", 7000, True)),
    ],
)
def test_manual_addresses_say_whether_to_use_tls(
    text: str, expected: tuple[str, int, bool]
) -> None:
    request = validate_connect(text, "", "alice", "", "")
    assert (request.host, request.port, request.tls) == expected


def test_split_scheme_leaves_a_plain_address_alone() -> None:
    assert split_scheme(" pc1:7000 ") == ("pc1:7000", None)


def test_fingerprints_are_shown_in_groups_of_four() -> None:
    assert grouped("9c2e51d0a3b1") == "9c2e 51d0 a3b1"


def tls_port(room: HostedRoom) -> int:
    line = next(line for line in room.output if line.startswith("tls: port "))
    return int(line.split()[2].rstrip(","))


def dialog_for(app: ChatApp, server_id: str) -> TrustDialog:
    run_until(app.root, lambda: app.trust.shown(server_id) is not None, "no question shown")
    dialog = app.trust.shown(server_id)
    assert dialog is not None
    return dialog


def joined(app: ChatApp, server_id: str) -> bool:
    conv = app.model.get(server_id, "#party")
    return conv is not None and conv.joined


def test_first_manual_tls_connect_shows_the_fingerprint_and_joins_once_trusted(
    app: ChatApp, room: HostedRoom, tmp_path: Path
) -> None:
    port = tls_port(room)
    app.joins.connect_manually(
        validate_connect(f"ircs://127.0.0.1:{port}", "", "alice", "", "party")
    )
    server_id = f"127.0.0.1:{port}"
    dialog = dialog_for(app, server_id)
    assert dialog.title() == "New certificate"
    assert dialog.fingerprints["Fingerprint"].cget("text") == grouped(room.fingerprint)
    find(dialog, "Trust this certificate").invoke()
    run_until(app.root, lambda: joined(app, server_id), "not in #party after trusting")
    assert PinStore(tmp_path / "pins.json").get(server_id) == room.fingerprint


def test_room_advertising_another_certificate_warns_naming_both_and_cancel_keeps_out(
    app: ChatApp, room: HostedRoom
) -> None:
    port = tls_port(room)
    # What a rogue advertiser would publish: this room, with a certificate it is not using.
    row = RoomRow("#party on rogue", "#party", "host", 1, 0, "", False, ("127.0.0.1",),
                  tls=port, fp=ROGUE_FP)  # fmt: skip
    app.joins.join_room(row, "alice")
    server_id = f"127.0.0.1:{port}"
    dialog = dialog_for(app, server_id)
    assert dialog.title() == "Certificate changed"
    assert dialog.fingerprints["Expected"].cget("text") == grouped(ROGUE_FP)
    assert dialog.fingerprints["Shown now"].cget("text") == grouped(room.fingerprint)
    find(dialog, "Cancel").invoke()
    assert not dialog.winfo_exists()
    run_until(app.root, lambda: app.servers[server_id].state == "failed", "not refused")
    assert not joined(app, server_id)
    # Asked again, the person trusts it this time.
    app.joins.join_room(row, "alice")
    find(dialog_for(app, server_id), "Trust the new certificate").invoke()
    run_until(app.root, lambda: joined(app, server_id), "not in #party after trusting")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ircs://alice-laptop", ev.Endpoint("alice-laptop", 6697, True)),
        ("alice-laptop:6697", ev.Endpoint("alice-laptop", 6697, True)),
        ("alice-laptop", ev.Endpoint("alice-laptop", 6667, False)),
        # The launcher's Join: a room's node as its Rooms page would connect (issue #17).
        (f"ircs://10.0.0.5:7000?fp={ROGUE_FP}&pin=lan%3Avm",
         ev.Endpoint("10.0.0.5", 7000, True, ROGUE_FP, "lan:vm")),
        (f"ircs://[fe80::9]:7001?fp={ROGUE_FP.upper()}",
         ev.Endpoint("fe80::9", 7001, True, ROGUE_FP)),
    ],
)  # fmt: skip
def test_chat_connect_flag_uses_tls_as_the_connect_page_does(
    text: str, expected: ev.Endpoint
) -> None:
    assert _connect_argument(text) == expected
    if expected.fingerprint or not expected.tls:
        # what the launcher passes reads back as the same node
        assert parse_connect(connect_argument(expected)) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("10.0.0.5:7000?fp=" + "ab" * 32, "fp= and pin= check a certificate: use ircs://"),
        ("ircs://10.0.0.5:7000?fp=abc", "fp= is the certificate's SHA-256: 64 hexadecimal"),
        ("ircs://10.0.0.5:7000?key=x", "Only fp= and pin= may follow the address, not key=."),
    ],
)
def test_a_connect_check_that_cannot_be_used_is_refused_in_plain_words(
    text: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"--connect {text!r}: {problem}")):
        _connect_argument(text)


def test_every_control_of_both_dialogs_has_an_accessible_name() -> None:
    with tk_root() as root:
        events = [
            ev.CertificateMismatch("s", ROGUE_FP, "ab" * 32, "pinned"),
            ev.CertificateUnknown("s", "ab" * 32),
        ]
        for event in events:
            dialog = TrustDialog(root, "10.0.0.5:6697", event, lambda: None)
            assert unnamed_controls(dialog) == []
            dialog.destroy()
