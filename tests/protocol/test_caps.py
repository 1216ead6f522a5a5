"""CAP LS / LIST replies and the all-or-nothing REQ rule."""

from __future__ import annotations

from lanchat.protocol import caps
from lanchat.protocol.caps import cap_list_replies, cap_ls_replies, parse_cap_req


def test_ls_lists_every_supported_cap_and_only_those() -> None:
    *more, last = cap_ls_replies("srv", "*", 302)  # 302 allows several lines: "LS *" but the last
    assert all(line.params[:3] == ("*", "LS", "*") for line in more)
    assert last.source == "srv"
    assert last.params[:2] == ("*", "LS") and len(last.params) == 3
    advertised = " ".join(line.params[-1] for line in [*more, last]).split()
    tokens = dict(token.partition("=")[::2] for token in advertised)
    assert set(tokens) == set(caps.SUPPORTED)
    assert "draft/chathistory" in caps.SUPPORTED
    # Values go to 302 clients only (draft/multiline's limits are its REQUIRED value).
    assert tokens["draft/multiline"] == "max-bytes=4096,max-lines=50"
    (old,) = cap_ls_replies("srv", "*", 0)
    assert "draft/multiline" in old.params[-1].split()
    assert tokens["sasl"] == "PLAIN,SCRAM-SHA-256"


def test_req_of_known_caps_is_accepted() -> None:
    change = parse_cap_req("multi-prefix -away-notify", cap_version=0)
    assert change is not None
    assert change.enable == {"multi-prefix"}
    assert change.disable == {"away-notify"}


def test_req_with_one_unknown_cap_is_rejected_whole() -> None:
    assert parse_cap_req("multi-prefix chghost", cap_version=302) is None


def test_empty_req_is_rejected() -> None:
    assert parse_cap_req("  ", cap_version=0) is None


def test_cap_notify_cannot_be_disabled_after_ls_302() -> None:
    assert parse_cap_req("-cap-notify", cap_version=302) is None
    assert parse_cap_req("-cap-notify", cap_version=0) is not None


def test_list_with_no_caps_is_one_empty_parameter() -> None:
    (line,) = cap_list_replies("srv", "bob", [], 0)
    assert line.to_line() == ":srv CAP bob LIST :"


def test_long_lists_continue_with_an_asterisk_for_302_clients() -> None:
    many = [f"vendor.example/cap-number-{i}" for i in range(40)]
    lines = cap_list_replies("srv", "bob", many, 302)
    assert len(lines) > 1
    assert all(m.params[2] == "*" for m in lines[:-1])
    assert lines[-1].params[2] != "*"
    assert all(len(m.to_bytes()) <= 512 for m in lines)
    assert sorted(" ".join(m.params[-1] for m in lines).split()) == sorted(many)


def test_plain_ls_gets_a_single_line_without_values() -> None:
    lines = cap_ls_replies("srv", "*", 0)
    assert len(lines) == 1
    assert "=" not in lines[0].params[-1]
