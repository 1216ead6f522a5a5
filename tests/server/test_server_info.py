"""TIME INFO HELP HELPOP LINKS (lanchat.server.handlers.server_info).

Transcript tests, then each command once more through a real server on 127.0.0.1.
"""

from __future__ import annotations

import pytest

from lanchat.server.app import LanchatServer
from lanchat.server.dispatch import COMMANDS
from tests.server.clients import registered
from tests.server.transcript import START, Transcript, commands, msg


def test_time_gives_words_and_unix_time() -> None:
    t = Transcript()
    alice = t.register("alice")
    assert alice.send_take("TIME") == [
        msg(
            f":lanchat.local 391 alice lanchat.local {int(START)} 0 "
            ":Tuesday November 25 2025 -- 18:00:00 UTC"
        )
    ]
    assert commands(alice.send_take("TIME lanchat.*")) == ["391"]


@pytest.mark.parametrize("line", ["TIME other.server", "INFO other.server"])
def test_another_server_is_no_such_server(line: str) -> None:
    t = Transcript()
    alice = t.register("alice")
    assert alice.send_take(line) == [msg(":lanchat.local 402 alice other.server :No such server")]


def test_info_ends_with_374() -> None:
    t = Transcript()
    alice = t.register("alice")
    got = alice.send_take("INFO")
    assert commands(got) == ["371", "371", "371", "374"]
    assert got[0].params[-1].startswith("lanchat ")
    assert got[-1] == msg(":lanchat.local 374 alice :End of INFO list")


def test_help_without_subject_lists_every_command() -> None:
    t = Transcript()
    alice = t.register("alice")
    got = alice.send_take("HELP")
    assert got[0].command == "704" and got[-1].command == "706"
    listed = " ".join(m.params[-1] for m in got if m.command == "705").split()
    assert listed == sorted(COMMANDS)


def test_help_on_a_command_gives_usage_and_what_it_does() -> None:
    t = Transcript()
    alice = t.register("alice")
    assert alice.send_take("HELPOP kick") == [
        msg(":lanchat.local 704 alice KICK :KICK <channel> <user>{,<user>} [<comment>]"),
        msg(
            ":lanchat.local 705 alice KICK "
            ":Operators remove members; each KICK is seen by the whole room."
        ),
        msg(":lanchat.local 706 alice KICK :End of /HELP"),
    ]


def test_every_command_has_help() -> None:
    t = Transcript()  # loads every handler module
    alice = t.register("alice")
    for verb in COMMANDS:
        assert commands(alice.send_take(f"HELP {verb.lower()}")) == ["704", "705", "706"], verb


def test_help_on_an_unknown_subject_is_524() -> None:
    t = Transcript()
    alice = t.register("alice")
    assert alice.send_take("HELP frobnicate") == [
        msg(":lanchat.local 524 alice frobnicate :No help available on this topic")
    ]


def test_links_lists_this_server_alone() -> None:
    t = Transcript()
    alice = t.register("alice")
    assert alice.send_take("LINKS") == [
        msg(":lanchat.local 364 alice lanchat.local lanchat.local :0 lanchat"),
        msg(":lanchat.local 365 alice * :End of /LINKS list"),
    ]
    assert alice.send_take("LINKS *.example") == [
        msg(":lanchat.local 365 alice *.example :End of /LINKS list")
    ]


async def test_server_info_commands_over_sockets(irc_server: LanchatServer) -> None:
    alice = await registered(irc_server.port, "alice")
    for line, end in (("TIME", "391"), ("INFO", "374"), ("HELP JOIN", "706"), ("LINKS", "365")):
        alice.send(line)
        await alice.expect_numeric(end)
    alice.send("HELP nothing")
    await alice.expect_numeric("524")
    await alice.close()
