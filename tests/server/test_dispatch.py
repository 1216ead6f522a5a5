"""The COMMANDS table (written out, issue 19), its central 421/451/461 gating, Context rules."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lanchat.protocol import numerics as n
from lanchat.protocol.message import Message, parse
from lanchat.server import handlers
from lanchat.server.context import Context
from lanchat.server.dispatch import COMMANDS, QUERY_RESULTS, Command
from lanchat.server.effects import Send
from tests.server.transcript import Transcript, commands, msg


@pytest.mark.parametrize(
    ("verb", "min_params", "before_registration"),
    [
        ("CAP", 1, True),
        ("NICK", 0, True),
        ("USER", 4, True),
        ("PASS", 1, True),
        ("PING", 1, True),
        ("PONG", 0, True),
        ("QUIT", 0, True),
        ("SETNAME", 1, False),
        ("PRIVMSG", 0, False),
        ("NOTICE", 0, False),
        ("TAGMSG", 1, False),
    ],
)
def test_table_rows_for_registration_and_messaging(
    verb: str, min_params: int, before_registration: bool
) -> None:
    row = COMMANDS[verb]
    assert (row.min_params, row.before_registration) == (min_params, before_registration)


def _handler_modules() -> list[ModuleType]:
    """Every module of lanchat.server.handlers, imported."""
    return [
        importlib.import_module(f"{handlers.__name__}.{info.name}")
        for info in pkgutil.iter_modules(handlers.__path__)
    ]


def test_every_handle_function_has_a_row_in_the_table() -> None:
    # The table is written out by hand (issue 19): a handler left out of it would never run.
    rows = {row.handler for row in COMMANDS.values()} | set(QUERY_RESULTS.values())
    missing = [
        f"{module.__name__}.{name}"
        for module in _handler_modules()
        for name, value in vars(module).items()
        if name.startswith("handle_")
        and inspect.isfunction(value)
        and value.__module__ == module.__name__
        and value not in rows
    ]
    assert missing == []


def test_handler_modules_do_not_register_themselves() -> None:
    # No decorators filling the table at import time (issue 19): the table points at the
    # handlers, never the other way round, so handlers never import dispatch.
    for module in _handler_modules():
        tree = ast.parse(inspect.getsource(module))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "lanchat.server.dispatch" not in imported, module.__name__


def test_verbs_are_dispatched_case_insensitively() -> None:
    t = Transcript()
    c = t.connect()
    assert c.send_take("ping :x") == [msg(":lanchat.local PONG lanchat.local x")]


def test_missing_parameters_reply_461_with_the_verb(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Message] = []
    monkeypatch.setitem(COMMANDS, "FROB", Command(lambda ctx, m: calls.append(m), 2))
    t = Transcript()
    c = t.register("alice")
    assert c.send_take("frob one") == [msg(":lanchat.local 461 alice FROB :Not enough parameters")]
    c.send("FROB one two")
    assert calls == [Message("FROB", ("one", "two"))]


def _context(t: Transcript, nick: str = "alice") -> Context:
    user = t.state.find_user(nick)
    assert user is not None
    return Context(t.state, user)


def test_numeric_without_default_text_ends_with_its_data() -> None:
    t = Transcript()
    t.register("alice")
    ctx = _context(t)
    ctx.numeric("353", "=", "#a", "@alice bob")
    (send,) = ctx.finish()
    assert isinstance(send, Send)
    assert send.data == b":lanchat.local 353 alice = #a :@alice bob\r\n"


def test_fanout_renders_each_distinct_form_once() -> None:
    t = Transcript()
    users = [t.register(f"u{i}") for i in range(5)]
    ctx = _context(t, "u0")
    rendered: list[int] = []

    def render(form: int) -> Message:
        rendered.append(form)
        return Message("NOTICE", ("*", f"form {form}"))

    targets = [t.state.users[c.conn_id] for c in users]
    ctx.fanout(targets, lambda u: u.conn_id % 2, render)
    sends = ctx.finish()
    assert sorted(rendered) == [0, 1]
    assert sorted(len(s.recipients) for s in sends if isinstance(s, Send)) == [2, 3]


def test_relay_to_nobody_sends_nothing() -> None:
    t = Transcript()
    t.register("alice")
    ctx = _context(t)
    ctx.relay([], Message("NOTICE", ("*", "x")))
    assert ctx.finish() == []


def test_replies_come_after_other_effects_and_disconnect_last() -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    ctx = _context(t)
    ctx.notice("first for alice")
    ctx.send([bob.conn_id], b"PING x\r\n")
    ctx.disconnect("done")
    effects = ctx.finish()
    assert [type(e).__name__ for e in effects] == ["Send", "Send", "Disconnect"]
    assert effects[0] == Send((bob.conn_id,), b"PING x\r\n")
    assert effects[1] == Send((alice.conn_id,), b":lanchat.local NOTICE alice :first for alice\r\n")


def test_labeled_batch_keeps_lines_already_in_a_nested_batch() -> None:
    t = Transcript()
    t.register("alice")
    ctx = _context(t)
    ctx.label = "L"
    ctx.reply(Message("BATCH", ("+inner", "chathistory", "#a"), source="s"))
    ctx.reply(Message("PRIVMSG", ("#a", "old"), source="bob", tags={"batch": "inner"}))
    ctx.reply(Message("BATCH", ("-inner",), source="s"))
    (send,) = ctx.finish()
    assert isinstance(send, Send)
    lines = send.data.decode().split("\r\n")[:-1]
    assert lines == [
        "@label=L :lanchat.local BATCH +b1 labeled-response",
        "@batch=b1 :s BATCH +inner chathistory #a",
        "@batch=inner :bob PRIVMSG #a old",
        "@batch=b1 :s BATCH -inner",
        ":lanchat.local BATCH -b1",
    ]


# ----------------------------------------------------------------------------- hostile input

NUMERICS = sorted({v for k, v in vars(n).items() if k.startswith(("RPL_", "ERR_"))})
# What a client can put in a parameter: any UTF-8 text but CR, LF and NUL (parse refuses
# those), and in a trailing parameter also spaces and a leading ':'.
HOSTILE = st.sampled_from(["", ":", " ", "::", ":x", "a b", "#room,:x"]) | st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\r\n\0"), max_size=8
)


@settings(max_examples=300)
@given(
    code=st.sampled_from(NUMERICS),
    params=st.lists(HOSTILE, max_size=4),
    text=st.none() | HOSTILE,
)
def test_every_numeric_serialises_whatever_its_parameters(
    code: str, params: list[str], text: str | None
) -> None:
    t = Transcript()
    t.register("alice")
    ctx = _context(t)
    ctx.numeric(code, *params, text=text)
    (send,) = ctx.finish()
    assert isinstance(send, Send)
    got = parse(send.data)
    trailing = 0 if text is None and n.default_text(code) is None else 1
    assert (got.command, got.params[0]) == (code, "alice")
    assert len(got.params) == 1 + len(params) + trailing
    # Each middle parameter is what was given, or "*" where that could not be one.
    middles = params if trailing else params[:-1]
    assert all(g in (p, "*") for g, p in zip(got.params[1:], middles, strict=False))


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("PRIVMSG #room,:x hello", "401 alice * :No such nick/channel"),
        ("TAGMSG a,:b", "401 alice * :No such nick/channel"),
        ("NICK :a b", "432 alice * :Erroneus nickname"),
        ("CAP :::", "410 alice * :Invalid CAP command"),
        ("MODE #room :+q x", "472 alice * :is unknown mode char to me"),
    ],
)
def test_a_name_that_cannot_be_echoed_is_answered_with_a_star(line: str, reply: str) -> None:
    t = Transcript()
    alice, bob = t.register("alice"), t.register("bob")
    alice.send("JOIN #room")
    bob.send("JOIN #room")
    bob.take()
    assert msg(f":lanchat.local {reply}") in alice.send_take(line)
    assert alice.closed is None
    assert "QUIT" not in commands(bob.take())


_VERBS = sorted(COMMANDS)


@settings(max_examples=200)
@given(verb=st.sampled_from(_VERBS), params=st.lists(HOSTILE, max_size=5))
def test_no_line_from_a_client_raises_out_of_the_core(verb: str, params: list[str]) -> None:
    t = Transcript()
    alice, bob = t.register("alice", caps=("batch", "labeled-response")), t.register("bob")
    alice.send("JOIN #room")
    bob.send("JOIN #room")
    line = Message(verb, tuple(params), tags={"label": "x"})
    for conn in (alice, bob):  # an operator and a member: both paths of each handler
        t.apply(t.state.receive(conn.conn_id, line))
