"""The cluster's log entries and the replica they drive, by plain calls (no Redis, no sockets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanchat.cluster.events import (
    CONNECT,
    GONE,
    HELLO,
    LINE,
    PASSWORD,
    Event,
    entry_time,
    newer,
    node_of,
)
from lanchat.cluster.replica import Replica
from lanchat.server.effects import Effect, Password, Persist
from lanchat.store.records import AccountRecord
from tests.server.transcript import sends
from tests.support import server_config


def test_an_event_survives_the_stream_fields() -> None:
    event = Event(LINE, 3, (3 << 32) + 7, b"PRIVMSG #a :h\xc3\xa9", "x")
    fields = {k.encode(): v for k, v in event.fields().items()}
    assert Event.from_fields(fields) == event
    assert node_of(event.conn_id) == 3
    with pytest.raises(ValueError, match="unknown cluster log entry kind"):
        Event.from_fields({b"k": b"?", b"n": b"1"})


def test_stream_ids_compare_as_numbers_not_text() -> None:
    assert entry_time("1733345000123-12") == (1733345000123, 12)
    assert newer("1733345000123-10", "1733345000123-9")
    assert not newer("999-0", "1000-0")
    assert newer("0-1", None)


def feed(replica: Replica, entries: list[tuple[str, Event]]) -> list[Effect]:
    effects: list[Effect] = []
    for entry_id, event in entries:
        effects += replica.apply(entry_id, event)
    return effects


ALICE = (1 << 32) + 1
BOB = (2 << 32) + 1
SESSION = [
    ("1000-0", Event(HELLO, 1, 0, b"#lobby")),
    ("1001-0", Event(CONNECT, 1, ALICE, b"10.0.0.1")),
    ("1001-1", Event(LINE, 1, ALICE, b"NICK alice")),
    ("1001-2", Event(LINE, 1, ALICE, b"USER a 0 * :a")),
    ("1002-0", Event(CONNECT, 2, BOB, b"10.0.0.2")),
    ("1002-1", Event(LINE, 2, BOB, b"NICK bob")),
    ("1002-2", Event(LINE, 2, BOB, b"USER b 0 * :b")),
    ("1003-0", Event(LINE, 1, ALICE, b"JOIN #lobby")),
    ("1003-1", Event(LINE, 2, BOB, b"JOIN #lobby")),
    ("1003-2", Event(LINE, 2, BOB, b"CAP REQ :server-time message-tags")),
    ("1004-0", Event(LINE, 1, ALICE, b"PRIVMSG #lobby :hi")),
]


def test_two_replicas_fed_one_log_agree_on_everything_they_show(tmp_path: Path) -> None:
    one, two = (Replica(server_config(tmp_path / name)) for name in "ab")
    shown = [sends(feed(replica, SESSION)) for replica in (one, two)]
    assert shown[0] == shown[1]
    message = next(e.data for e in shown[0] if b"PRIVMSG #lobby hi" in e.data)
    assert b"time=1970-01-01T00:00:01.004Z" in message  # the entry's time, not the node's
    assert set(one.state.rooms["#lobby"].members) == {ALICE, BOB}


def test_node_gone_makes_its_users_quit_once(tmp_path: Path) -> None:
    replica = Replica(server_config(tmp_path))
    feed(replica, SESSION)
    gone = Event(GONE, 1, 0, b"2", "Their server stopped answering (10 s)")
    quits = sends(replica.apply("1005-0", gone))
    assert any(b"QUIT :Their server stopped answering" in e.data for e in quits)
    assert replica.users_of(2) == [] and replica.nodes() == {1}
    assert replica.apply("1005-1", gone) == []  # a second report changes nothing


def test_every_node_stores_an_account_its_origin_hashed(tmp_path: Path) -> None:
    replica = Replica(server_config(tmp_path))
    feed(replica, SESSION)
    asked = replica.apply("1006-0", Event(LINE, 1, ALICE, b"REGISTER * * :secret-words"))
    assert [e for e in asked if isinstance(e, Password)]
    done = replica.apply("1007-0", Event(PASSWORD, 1, ALICE, b"scrypt$hash", "1"))
    stored = [e.record for e in done if isinstance(e, Persist)]
    assert stored == [AccountRecord("alice", "alice", "scrypt$hash", 1)]
    assert "alice" in replica.state.accounts


def test_an_entry_appended_twice_is_applied_once_on_every_node(tmp_path: Path) -> None:
    """Its XADD's answer was lost and the append was repeated (docs/cluster.md): the same
    node and sequence number, applied the first time only."""
    said = Event(LINE, 1, ALICE, b"PRIVMSG #lobby :once", seq=7)
    later = Event(LINE, 1, ALICE, b"PRIVMSG #lobby :after", seq=8)
    other = Event(LINE, 2, BOB, b"PRIVMSG #lobby :bob's 7", seq=7)  # another node's 7
    log = [*SESSION, ("1005-0", said), ("1005-1", other), ("1005-2", said), ("1006-0", later)]
    log.append(("1006-1", said))
    shown = [e.data for e in sends(feed(Replica(server_config(tmp_path)), log))]
    to_bob = [data for data in shown if b"PRIVMSG #lobby" in data and b"bob!" not in data]
    assert [data.split()[-1] for data in to_bob] == [b"hi", b"once", b"after"]
    assert any(b"bob's 7" in data for data in shown)
