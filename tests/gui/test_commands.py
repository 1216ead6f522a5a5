"""The input line: history, Tab completion and slash commands (lanchat.gui.commands), no Tk."""

from __future__ import annotations

import pytest

from lanchat.client.events import Action, ChangeNick, Join, Part, Quit, Say, SetAway, SetTopic
from lanchat.gui.commands import (
    COMMANDS,
    Completer,
    Help,
    InputHistory,
    UsageError,
    parse_input,
)

# --- input history ---


def test_history_up_down_recalls_lines_and_keeps_draft() -> None:
    hist = InputHistory()
    for line in ("one", "two", "two", "three"):
        hist.push(line)
    assert hist.entries == ["one", "two", "three"]
    assert hist.up("draft") == "three"
    assert hist.up("three") == "two"
    assert hist.up("two") == "one"
    assert hist.up("one") == "one"
    assert hist.down("one") == "two"
    assert hist.down("two") == "three"
    assert hist.down("three") == "draft"
    assert hist.down("draft") == "draft"


def test_history_up_on_empty_history_keeps_line() -> None:
    assert InputHistory().up("typing") == "typing"


# --- completion ---


def test_tab_completes_nick_at_start_with_colon() -> None:
    assert Completer().complete("bo", 2, ["alice", "Bob"]) == ("Bob: ", 5)


def test_tab_completes_nick_mid_line_with_space() -> None:
    assert Completer().complete("hi al there", 5, ["alice"]) == ("hi alice there", 9)


def test_repeated_tab_cycles_through_matches() -> None:
    comp = Completer()
    line, cur = comp.complete("b", 1, ["bob", "bea", "carl"])
    assert line == "bea: "
    line, cur = comp.complete(line, cur, ["bob", "bea", "carl"])
    assert line == "bob: "
    line, cur = comp.complete(line, cur, ["bob", "bea", "carl"])
    assert line == "bea: "


def test_tab_completes_commands() -> None:
    assert Completer().complete("/jo", 3, []) == ("/join ", 6)


def test_tab_with_no_match_changes_nothing() -> None:
    assert Completer().complete("xyz", 3, ["bob"]) == ("xyz", 3)


# --- slash commands ---


def p(text: str, target: str = "#lobby") -> object:
    return parse_input(text, target=target, server_id="s")


def test_plain_text_is_said_to_the_tab() -> None:
    assert p("hello") == Say("s", "#lobby", "hello")


def test_double_slash_sends_a_literal_slash() -> None:
    assert p("//shrug") == Say("s", "#lobby", "/shrug")


@pytest.mark.parametrize(
    ("text", "cmd"),
    [
        ("/me waves", Action("s", "#lobby", "waves")),
        ("/join #dev", Join("s", "#dev", "")),
        ("/join dev secret", Join("s", "#dev", "secret")),
        ("/part", Part("s", "#lobby", "")),
        ("/part bye all", Part("s", "#lobby", "bye all")),
        ("/part #dev later", Part("s", "#dev", "later")),
        ("/nick alice2", ChangeNick("s", "alice2")),
        ("/msg bob hi there", Say("s", "bob", "hi there")),
        ("/topic Friday games", SetTopic("s", "#lobby", "Friday games")),
        ("/away lunch", SetAway("s", "lunch")),
        ("/away", SetAway("s", "")),
        ("/quit gone", Quit("s", "gone")),
        ("/JOIN #Dev", Join("s", "#Dev", "")),
    ],
)
def test_slash_commands_become_client_commands(text: str, cmd: object) -> None:
    assert p(text) == cmd


def test_help_lists_every_command() -> None:
    result = p("/help")
    assert isinstance(result, Help)
    assert len(result.lines) == len(COMMANDS)


@pytest.mark.parametrize(
    ("text", "target", "message"),
    [
        ("/frob", "#lobby", "/frob is not a command here; type /help for the list"),
        ("/me", "#lobby", "usage: /me text"),
        ("/join", "#lobby", "usage: /join #room [key]"),
        ("/join #a,b", "#lobby", "#a,b is not a valid room name"),
        ("/nick", "#lobby", "usage: /nick newnick"),
        ("/nick 9lives", "#lobby", "9lives is not a valid nickname"),
        ("/msg bob", "#lobby", "usage: /msg nick text"),
        ("/topic x", "bob", "/topic works in a room tab"),
        ("/part", "bob", "you are not in a room here"),
        ("hello", "", "to talk, join a room first: /join #room"),
    ],
)
def test_bad_commands_say_how_to_write_them(text: str, target: str, message: str) -> None:
    with pytest.raises(UsageError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        p(text, target)
