"""scrypt password hashes: parameters stored with each hash, a salt per hash, bad hashes refused."""

from __future__ import annotations

import pytest

from lanchat.passwords import (
    DEFAULT_PARAMS,
    ScryptParams,
    hash_password,
    is_password_hash,
    verify_password,
)

CHEAP = ScryptParams(log2_n=4)


def test_default_hash_names_its_parameters_and_verifies() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith(f"scrypt$ln={DEFAULT_PARAMS.log2_n},r=8,p=1$")
    assert verify_password("correct horse", hashed)
    assert not verify_password("correct horsE", hashed)


def test_each_hash_has_its_own_salt() -> None:
    assert hash_password("same", CHEAP) != hash_password("same", CHEAP)


def test_old_parameters_still_verify_after_raising_them() -> None:
    old = hash_password("pw", ScryptParams(log2_n=4, r=4, p=2))
    assert old.split("$")[1] == "ln=4,r=4,p=2"
    assert verify_password("pw", old)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "plain-text-password",
        "bcrypt$ln=4,r=8,p=1$AAAA$AAAA",
        "scrypt$ln=4,r=8$AAAA$AAAA",
        "scrypt$ln=4,r=8,p=1$not base64!$AAAA",
        "scrypt$ln=40,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 43 + "=",  # 2**40: refused
        "scrypt$ln=4,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",  # key too short
    ],
)
def test_a_hash_that_cannot_be_read_matches_nothing(bad: str) -> None:
    assert not is_password_hash(bad)
    assert not verify_password("", bad)
    assert not verify_password("pw", bad)


def test_unicode_passwords() -> None:
    hashed = hash_password("pässwörd ✓", CHEAP)
    assert verify_password("pässwörd ✓", hashed)
    assert not verify_password("passwort", hashed)
