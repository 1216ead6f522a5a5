"""Guessing room keys and the server password (lanchat.server.throttle, issue 13 item 6).

The throttle alone with a fake clock, then JOIN and PASS through the pure core by transcript,
then the same over real sockets, where 127.0.0.2 and 127.0.0.3 stand in for two machines.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from lanchat.config import Config
from lanchat.server.app import running_server
from lanchat.server.throttle import FailureThrottle
from tests.server.clients import registered
from tests.server.transcript import FakeClock, Transcript, commands, expect_numeric, make_config
from tests.support import LineClient, server_config

THROTTLE_LOG = "lanchat.server.throttle"


def _throttled_text(messages: list[str]) -> bool:
    return any("too many wrong" in m.lower() for m in messages)


# ------------------------------------------------------------------ the throttle alone


def test_failures_up_to_the_limit_are_checked_then_attempts_are_refused() -> None:
    clock = FakeClock()
    throttle = FailureThrottle(max_failures=2, window_s=60.0, clock=clock)
    assert throttle.retry_after_s("10.0.0.1") == 0
    throttle.failed("10.0.0.1", "key for #a")
    assert throttle.retry_after_s("10.0.0.1") == 0
    throttle.failed("10.0.0.1", "key for #a")
    assert throttle.retry_after_s("10.0.0.1") == 60
    clock.advance(59.5)
    assert throttle.retry_after_s("10.0.0.1") == 1
    assert throttle.retry_after_s("10.0.0.2") == 0  # another address is not affected


def test_the_window_starts_at_the_first_failure_and_ends_after_window_s() -> None:
    clock = FakeClock()
    throttle = FailureThrottle(max_failures=2, window_s=60.0, clock=clock)
    throttle.failed("10.0.0.1", "server password")
    clock.advance(50.0)
    throttle.failed("10.0.0.1", "server password")
    assert throttle.retry_after_s("10.0.0.1") == 10
    clock.advance(10.0)
    assert throttle.retry_after_s("10.0.0.1") == 0


def test_each_failure_is_logged_then_the_throttle_then_what_was_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=THROTTLE_LOG)
    clock = FakeClock()
    throttle = FailureThrottle(max_failures=2, window_s=60.0, clock=clock)
    throttle.failed("10.0.0.1", "key for #a")
    throttle.failed("10.0.0.1", "key for #a")
    for _ in range(500):
        throttle.retry_after_s("10.0.0.1")
    clock.advance(60.0)
    throttle.retry_after_s("10.0.0.1")
    assert [r.getMessage() for r in caplog.records] == [
        "10.0.0.1 gave a wrong key for #a (1 of 2 failures allowed per 60 s)",
        "10.0.0.1 gave a wrong key for #a (2 of 2 failures allowed per 60 s)",
        "10.0.0.1 is throttled: its keys and passwords are refused unchecked for 60 s",
        "10.0.0.1 may try again: 500 more attempts were refused while it was throttled",
    ]


def test_a_room_name_with_terminal_controls_is_logged_spelled_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=THROTTLE_LOG)
    throttle = FailureThrottle(max_failures=2, window_s=60.0, clock=FakeClock())
    throttle.failed("10.0.0.1", "key for #\x1b[2J\u202e")
    assert caplog.records[0].getMessage() == (
        "10.0.0.1 gave a wrong key for #\\x1b[2J\\u202e (1 of 2 failures allowed per 60 s)"
    )


def test_ended_windows_are_swept_so_many_addresses_cost_bounded_memory() -> None:
    clock = FakeClock()
    throttle = FailureThrottle(max_failures=1, window_s=1.0, clock=clock)
    for i in range(5000):
        throttle.failed(f"10.0.{i // 256}.{i % 256}", "server password")
        clock.advance(0.01)
    assert len(throttle._windows) < 2100


# ------------------------------------------------------------------ transcripts


def _throttle_config(**server: str) -> Config:
    config = make_config(max_auth_failures=3, auth_failure_window_s=60.0)
    return dataclasses.replace(config, server=dataclasses.replace(config.server, **server))


def _keyed_room(t: Transcript) -> None:
    alice = t.register("alice")
    alice.send("JOIN #vault")
    alice.send("MODE #vault +k s3cret")


def test_key_guessing_countermeasure_refuses_a_right_key_once_throttled() -> None:
    t = Transcript(_throttle_config())
    _keyed_room(t)
    bob = t.register("bob", ip="192.168.1.66")
    # Before issue 13 the fifth key of this one line was checked and let bob in.
    got = bob.send_take("JOIN #vault,#vault,#vault,#vault,#vault a,b,c,d,s3cret")
    assert commands(got) == ["475"] * 5
    texts = [m.params[-1] for m in got]
    assert texts[:3] == ["Cannot join channel (+k)"] * 3
    assert (
        texts[3:]
        == ["Cannot join channel (+k) - too many wrong keys from your address; wait 60 s"] * 2
    )
    assert bob.conn_id not in t.state.rooms["#vault"].members


def test_key_throttle_holds_across_a_reconnect_and_lifts_after_the_window() -> None:
    t = Transcript(_throttle_config())
    _keyed_room(t)
    bob = t.register("bob", ip="192.168.1.66")
    bob.send("JOIN #vault a,b,c")
    bob.send("JOIN #vault a")
    bob.send("JOIN #vault b")
    t.disconnect(bob)
    again = t.register("bob2", ip="192.168.1.66")
    got = again.send_take("JOIN #vault s3cret")
    assert _throttled_text([m.params[-1] for m in got])
    t.clock.advance(60.0)
    assert commands(again.send_take("JOIN #vault s3cret"))[0] == "JOIN"


def test_key_throttle_is_per_address() -> None:
    t = Transcript(_throttle_config())
    _keyed_room(t)
    bob = t.register("bob", ip="192.168.1.66")
    bob.send("JOIN #vault,#vault,#vault,#vault a,b,c,d")
    carol = t.register("carol", ip="192.168.1.7")
    assert commands(carol.send_take("JOIN #vault s3cret"))[0] == "JOIN"


def test_password_guessing_countermeasure_refuses_a_right_password_once_throttled() -> None:
    t = Transcript(_throttle_config(password="hunter2"))
    for guess in ("a", "b", "c"):
        conn = t.connect("192.168.1.66")
        conn.send(f"PASS {guess}")
        conn.send("NICK mallory")
        got = conn.send_take("USER m 0 * :m")
        assert expect_numeric(got, "464").params[-1] == "Password incorrect"
        assert conn.closed == "Bad password"
    conn = t.connect("192.168.1.66")
    conn.send("PASS hunter2")
    conn.send("NICK mallory")
    got = conn.send_take("USER m 0 * :m")
    assert _throttled_text([m.params[-1] for m in got])
    assert conn.closed == "Too many wrong passwords"
    t.register("alice", ip="192.168.1.7", password="hunter2")  # another machine is let in
    t.clock.advance(60.0)
    t.register("mallory", ip="192.168.1.66", password="hunter2")


# ------------------------------------------------------------------ over real sockets


async def test_key_guessing_over_sockets_is_throttled_per_address_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=THROTTLE_LOG)
    config = server_config(tmp_path / "data", limits={"max_auth_failures": 3})
    async with running_server(config) as server:
        alice = await registered(server.port, "alice", "#vault")
        alice.send("MODE #vault +k s3cret")
        await alice.expect("MODE")
        guesser = await registered(server.port, "guesser", source="127.0.0.2")
        guesser.send("JOIN #vault,#vault,#vault,#vault,#vault a,b,c,d,s3cret")
        got = [await guesser.expect_numeric("475") for _ in range(5)]
        assert _throttled_text([m.params[-1] for m in got[3:]])
        await guesser.close()
        again = await registered(server.port, "guesser2", source="127.0.0.2")
        again.send("JOIN #vault s3cret")
        refused = await again.expect_numeric("475")
        assert _throttled_text([refused.params[-1]])
        neighbour = await registered(server.port, "carol", source="127.0.0.3")
        neighbour.send("JOIN #vault s3cret")
        await neighbour.expect("JOIN")
    lines = [r.getMessage() for r in caplog.records]
    assert "127.0.0.2 gave a wrong key for #vault (1 of 3 failures allowed per 60 s)" in lines
    assert any(line.startswith("127.0.0.2 is throttled") for line in lines)


async def test_password_guessing_over_sockets_is_throttled_per_address(tmp_path: Path) -> None:
    config = server_config(
        tmp_path / "data", server={"password": "hunter2"}, limits={"max_auth_failures": 2}
    )
    async with running_server(config) as server:

        async def attempt(password: str, source: str) -> list[str]:
            client = await LineClient.connect(server.port, source=source)
            client.send(f"PASS {password}")
            client.send("NICK mallory")
            client.send("USER m 0 * :m")
            return [m.to_line() for m in await client.expect_closed()]

        assert any(" 464 " in line for line in await attempt("guess1", "127.0.0.2"))
        assert any(" 464 " in line for line in await attempt("guess2", "127.0.0.2"))
        throttled = await attempt("hunter2", "127.0.0.2")
        assert any("Too many wrong passwords" in line for line in throttled)
        other = await LineClient.connect(server.port, source="127.0.0.3")
        other.send("PASS hunter2")
        await other.register("alice")
