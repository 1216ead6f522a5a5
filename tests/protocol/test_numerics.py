"""Numerics: names map to the codes modern.ircdocs gives, each defined once."""

from __future__ import annotations

from lanchat.protocol import numerics as n


def test_well_known_numerics_have_their_spec_codes() -> None:
    assert n.RPL_WELCOME == "001"
    assert n.RPL_ISUPPORT == "005"
    assert n.ERR_NOSUCHNICK == "401"
    assert n.ERR_INPUTTOOLONG == "417"
    assert n.ERR_NICKNAMEINUSE == "433"
    assert n.ERR_PASSWDMISMATCH == "464"
    assert n.ERR_CHANOPRIVSNEEDED == "482"


def test_every_numeric_code_is_defined_once() -> None:
    codes = {k: v for k, v in vars(n).items() if k.startswith(("RPL_", "ERR_"))}
    assert all(len(v) == 3 and v.isdigit() for v in codes.values())
    assert len(set(codes.values())) == len(codes)


def test_default_texts_belong_to_defined_numerics() -> None:
    codes = {v for k, v in vars(n).items() if k.startswith(("RPL_", "ERR_"))}
    assert set(n.DEFAULT_TEXT) <= codes


def test_default_text_is_none_for_data_numerics() -> None:
    assert n.default_text(n.ERR_NOSUCHNICK) == "No such nick/channel"
    assert n.default_text(n.RPL_NAMREPLY) is None
