"""lanchat.client.pins: the certificate rule by plain calls, and the pin file (#17)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lanchat.client.pins import Accepted, PinStore, Refused, Verdict, check

A, B = "a" * 64, "b" * 64


@pytest.mark.parametrize(
    ("advertised", "pinned", "verdict"),
    [
        (A, None, Accepted(pin=True)),  # first visit to an advertised room: pin what it says
        ("", A, Accepted(pin=False)),  # a known server, by address
        (A, A, Accepted(pin=False)),
        ("", None, Refused("", "unknown")),  # first manual connect: ask the person
        (B, None, Refused(B, "advertised")),  # someone copied the room's advertisement
        (A, B, Refused(B, "pinned")),  # a rogue that advertises its own certificate
        ("", B, Refused(B, "pinned")),
        (B, B, Refused(B, "pinned")),  # both vouch for another certificate: the pin is named
        (B, A, Accepted(pin=False)),  # the person trusted it: a TXT record does not overrule
    ],
)
def test_check(advertised: str, pinned: str | None, verdict: Verdict) -> None:
    assert check(A, advertised=advertised, pinned=pinned) == verdict


def test_pins_are_kept_in_a_file_only_the_owner_can_read(tmp_path: Path) -> None:
    path = tmp_path / "config" / "pins.json"
    PinStore(path).set("10.0.0.5:6697", A)
    PinStore(path).set("lan:alice-laptop", B)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = PinStore(path)
    assert (again.get("10.0.0.5:6697"), again.get("lan:alice-laptop")) == (A, B)


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"x": 5}'])
def test_a_broken_pin_file_means_no_pins(tmp_path: Path, content: str) -> None:
    path = tmp_path / "pins.json"
    path.write_text(content)
    assert PinStore(path).get("x") is None


def test_a_pin_file_that_cannot_be_written_raises_os_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = PinStore(blocker / "pins.json")
    with pytest.raises(OSError):
        store.set("x", A)
    assert store.get("x") == A  # trusted for this run all the same
