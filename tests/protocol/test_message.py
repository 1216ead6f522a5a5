"""Message parsing and serialisation: the ircdocs parser vectors and hypothesis properties."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from parser_tests import data as vectors

from lanchat.errors import InvalidUtf8, MalformedLine, ProtocolError
from lanchat.protocol.message import Message, escape_tag_value, parse, unescape_tag_value


def _atoms_message(atoms: dict[str, object]) -> Message:
    return Message(
        command=str(atoms["verb"]),
        params=tuple(atoms.get("params", ())),  # type: ignore[arg-type]
        source=atoms.get("source"),  # type: ignore[arg-type]
        tags={k: v or "" for k, v in atoms.get("tags", {}).items()},  # type: ignore[attr-defined]
    )


@pytest.mark.parametrize("case", vectors.msg_split["tests"], ids=lambda c: c["input"][:40])
def test_parse_matches_ircdocs_split_vector(case: dict[str, object]) -> None:
    assert parse(str(case["input"])) == _atoms_message(case["atoms"])  # type: ignore[arg-type]


@pytest.mark.parametrize("case", vectors.msg_join["tests"], ids=lambda c: c["desc"][:40])
def test_serialise_matches_ircdocs_join_vector(case: dict[str, object]) -> None:
    assert _atoms_message(case["atoms"]).to_line() in case["matches"]  # type: ignore[arg-type,operator]


def test_parse_skips_empty_tag_items() -> None:
    assert parse("@a=b;;c FOO").tags == {"a": "b", "c": ""}


def test_parse_rejects_a_trailing_parameter_in_place_of_the_command() -> None:
    with pytest.raises(MalformedLine):
        parse(":src :text")


def test_parse_accepts_bytes_with_crlf() -> None:
    assert parse(b"PING :x y\r\n") == Message("PING", ("x y",))


def test_parse_rejects_invalid_utf8_with_invalid_utf8() -> None:
    with pytest.raises(InvalidUtf8):
        parse(b"PRIVMSG #a :\xff\xfe")


@pytest.mark.parametrize(
    "line",
    ["", "   ", ":src", ":src  ", "@a=b", "@a=b :src", ":", "@=x FOO", "@+ FOO", "FOO \0", "A\rB"],
)
def test_parse_rejects_lines_without_a_command(line: str) -> None:
    with pytest.raises(MalformedLine):
        parse(line)


def test_serialise_rejects_a_space_in_a_middle_parameter() -> None:
    with pytest.raises(MalformedLine):
        Message("PRIVMSG", ("a b", "text")).to_line()


def test_serialise_rejects_an_empty_middle_parameter() -> None:
    with pytest.raises(MalformedLine):
        Message("MODE", ("", "x")).to_line()


def test_serialise_rejects_line_breaks_in_any_parameter() -> None:
    with pytest.raises(MalformedLine):
        Message("PRIVMSG", ("#a", "one\r\ntwo")).to_bytes()


def test_verb_is_upper_case_command() -> None:
    assert parse("privmsg #a :x").verb == "PRIVMSG"


def test_unescape_drops_lone_trailing_backslash_and_unknown_escapes() -> None:
    assert unescape_tag_value("a\\") == "a"
    assert unescape_tag_value("\\b") == "b"
    assert unescape_tag_value(escape_tag_value("; \\\r\n")) == "; \\\r\n"


_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\0"), max_size=40)
_WORD = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\0 "),
    min_size=1,
    max_size=20,
)
_MIDDLE = _WORD.filter(lambda s: not s.startswith(":"))
_TAG_KEY = st.from_regex(r"\A\+?([a-z]{1,8}(\.[a-z]{1,8})*/)?[A-Za-z0-9-]{1,12}\Z")
_COMMAND = st.one_of(st.from_regex(r"\A[A-Za-z]{1,12}\Z"), st.from_regex(r"\A[0-9]{3}\Z"))


@st.composite
def _messages(draw: st.DrawFn) -> Message:
    params = draw(st.lists(_MIDDLE, max_size=5))
    if draw(st.booleans()):
        params.append(draw(_TEXT))
    return Message(
        command=draw(_COMMAND),
        params=tuple(params),
        source=draw(st.none() | _MIDDLE),
        tags=draw(st.dictionaries(_TAG_KEY, _TEXT, max_size=4)),
    )


@given(_messages())
def test_parse_inverts_serialise(m: Message) -> None:
    assert parse(m.to_bytes()) == m


@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_protocol_error(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parse(data)
