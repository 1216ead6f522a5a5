"""HistoryDB against real SQLite files: round trips, every CHATHISTORY subcommand, bad files.

CHATHISTORY semantics: https://ircv3.net/specs/extensions/chathistory ("Subcommands").
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanchat.errors import StoreError
from lanchat.store import (
    SCHEMA_VERSION,
    AccountRecord,
    HistoryDB,
    HistoryQuery,
    HistoryRecord,
    RoomRecord,
)
from lanchat.store.db import _MIGRATIONS

LOBBY = "#lobby"
PRIVATE = "alice bob"  # the conversation key of alice and bob (casefolded, sorted)


def message(
    msgid: str,
    time_ms: int,
    key: str = LOBBY,
    text: str = "hi",
    *,
    command: str = "PRIVMSG",
    tags: dict[str, str] | None = None,
) -> HistoryRecord:
    """A message from alice to `key` (a room, or the private conversation with bob)."""
    target = "bob" if key == PRIVATE else key
    return HistoryRecord(
        msgid, time_ms, command, "alice!alice@192.0.2.7", target, key, text, tags or {}
    )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[HistoryDB]:
    db = HistoryDB(tmp_path / "history.sqlite3")
    yield db
    db.close()


@pytest.fixture
def lobby(db: HistoryDB) -> HistoryDB:
    """#lobby holds m0..m9 at 1000, 1000, 1001, 1001, ... 1004 (two messages per ms).

    Other conversations are interleaved with it, to show queries never leak across keys.
    """
    records = []
    for i in range(10):
        records.append(message(f"m{i}", 1000 + i // 2))
        records.append(message(f"other{i}", 1000 + i // 2, key="#other"))
        records.append(message(f"p{i}", 1000 + i // 2, key=PRIVATE))
    db.append(records)
    return db


Bound = str | int | None


def ids(
    db: HistoryDB,
    subcommand: str,
    start: Bound = None,
    end: Bound = None,
    limit: int = 100,
    key: str = LOBBY,
) -> list[str]:
    """The msgids CHATHISTORY `subcommand` returns for `key`, in the order returned."""
    query = HistoryQuery(subcommand, key, start, end, limit)
    return [r.msgid for r in db.query(query)]


# -- round trips ---------------------------------------------------------------------------


def test_message_round_trip_keeps_every_field_tags_and_unicode(db: HistoryDB) -> None:
    original = message(
        "abc", 1_700_000_000_123, text="héllo 👋 wörld", tags={"+draft/react": "🎉", "+x": "a;b c"}
    )
    db.append([original])
    assert db.query(HistoryQuery("LATEST", LOBBY, None)) == [original]


def test_tagmsg_with_empty_text_round_trips(db: HistoryDB) -> None:
    tagmsg = message("t1", 5, command="TAGMSG", text="", tags={"+typing": "active"})
    db.append([tagmsg])
    assert db.query(HistoryQuery("LATEST", LOBBY, None)) == [tagmsg]


def test_storing_the_same_msgid_twice_keeps_one_copy(db: HistoryDB) -> None:
    db.append([message("dup", 1)])
    db.append([message("dup", 1), message("new", 2)])
    assert ids(db, "LATEST") == ["dup", "new"]


def test_room_round_trip_update_and_delete(db: HistoryDB) -> None:
    room = RoomRecord(
        "#lobby",
        "#Lobby",
        1_700_000_000,
        topic="Snacks 🍕",
        modes="nt",
        password="s3cret",
        limit=20,
        bans=("*!*@192.0.2.9", "bad!*@*"),
    )
    db.append([room, RoomRecord("#zoo", "#Zoo", 1)])
    assert db.load_rooms() == [room, RoomRecord("#zoo", "#Zoo", 1)]

    changed = RoomRecord(
        "#lobby",
        "#Lobby",
        1_700_000_000,
        topic="new",
        topic_setter="bob",
        topic_time_s=1_700_000_500,
    )
    db.append([changed, RoomRecord("#zoo", "#Zoo", 1, deleted=True)])
    assert db.load_rooms() == [changed]


def test_deleting_a_room_seals_its_history_and_keeps_it(lobby: HistoryDB) -> None:
    # A forgotten room's history must not pass to the next room of that name (issue 13).
    lobby.append([RoomRecord(LOBBY, "#lobby", 7, deleted=True), message("new", 2000)])
    assert ids(lobby, "LATEST") == ["new"]
    assert ids(lobby, "LATEST", key="#lobby 7") == [f"m{i}" for i in range(10)]
    assert len(ids(lobby, "LATEST", key="#other")) == 10


def test_ban_and_invite_exceptions_round_trip(db: HistoryDB) -> None:
    room = RoomRecord("#a", "#a", 1, bans=("*!*@*",), excepts=("ok!*@*",), invex=("*!*@10.*",))
    db.append([room])
    assert db.load_rooms() == [room]


def test_a_database_of_schema_1_gains_the_exception_lists(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:  # what a lanchat before issue 18 wrote
        for statement in _MIGRATIONS[0]:
            assert isinstance(statement, str)
            conn.execute(statement)
        conn.execute("INSERT INTO rooms VALUES ('#a', '#A', 1, '', '', 0, 'nt', '', 0, '[\"x\"]')")
        conn.execute("PRAGMA user_version = 1")
    db = HistoryDB(path)
    try:
        assert db.load_rooms() == [RoomRecord("#a", "#A", 1, modes="nt", bans=("x",))]
    finally:
        db.close()


def test_an_account_is_stored_whole_and_a_taken_name_fails_its_whole_batch(
    db: HistoryDB,
) -> None:
    alice = AccountRecord("alice", "Alice", "scrypt$ln=4,r=8,p=1$c2FsdA==$a2V5", 5)
    db.append([alice])
    again = AccountRecord("alice", "alice", "scrypt$other", 6)
    room = RoomRecord("#new", "#new", 6)
    with pytest.raises(StoreError, match="UNIQUE constraint failed"):
        db.append([room, again])
    assert db.load_accounts() == [alice]  # the first one, hash and all
    assert db.load_rooms() == []  # nothing of the failed batch


def test_an_accounts_scram_keys_round_trip(db: HistoryDB) -> None:
    alice = AccountRecord("alice", "Alice", "scrypt$x", 5, scram="scram-sha-256$i=4096$a$b$c")
    db.append([alice])
    assert db.load_accounts() == [alice]


def test_accounts_of_a_database_before_scram_have_no_keys(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    HistoryDB(path).close()
    with sqlite3.connect(path) as conn:  # what a lanchat of schema 4 (before SCRAM) wrote
        conn.execute("ALTER TABLE accounts DROP COLUMN scram")
        conn.execute("DROP TABLE cluster_positions")  # migration 5 (issue 20) came after too
        conn.execute("INSERT INTO accounts VALUES ('bob', 'Bob', 'scrypt$old', 3)")
        conn.execute("PRAGMA user_version = 4")
    db = HistoryDB(path)
    try:
        assert db.load_accounts() == [AccountRecord("bob", "Bob", "scrypt$old", 3, scram="")]
    finally:
        db.close()


def test_a_renamed_room_takes_its_history_and_nothing_older_of_the_new_name(
    lobby: HistoryDB,
) -> None:
    # RENAME (issue 18): the store moves the room's row and messages; the server seals the new
    # name first (a deleted record), so #other's own messages are not read as #hall's.
    lobby.append([RoomRecord("#other", "#other", 3), RoomRecord(LOBBY, "#lobby", 7)])
    lobby.append(
        [
            RoomRecord("#other", "#other", 3, deleted=True),
            RoomRecord("#other", "#Other", 7, renamed_from=LOBBY),
        ]
    )
    assert ids(lobby, "LATEST", key="#other") == [f"m{i}" for i in range(10)]
    assert ids(lobby, "LATEST") == []
    assert lobby.load_rooms() == [RoomRecord("#other", "#Other", 7)]
    latest = lobby.query(HistoryQuery("LATEST", "#other", None, None, 1))
    assert latest[0].target == "#Other"


def test_room_changes_in_one_append_apply_in_order(db: HistoryDB) -> None:
    created = RoomRecord("#tmp", "#tmp", 1)
    db.append(
        [
            created,
            message("a", 1),
            RoomRecord("#tmp", "#tmp", 1, deleted=True),
            message("b", 2),
            RoomRecord("#tmp", "#TMP", 2),
        ]
    )
    assert db.load_rooms() == [RoomRecord("#tmp", "#TMP", 2)]
    assert ids(db, "LATEST") == ["a", "b"]


def test_a_batch_longer_than_one_insert_statement_keeps_every_message_in_order(
    db: HistoryDB,
) -> None:
    # Messages go in by INSERTs of up to 512 rows. 40,000 rows in one statement would be
    # 320,000 variables, over SQLite's limit; a duplicate msgid inside one statement and a
    # room change between messages must not lose or reorder any of them either.
    first = [message(f"m{i:05}", i) for i in range(700)]
    second = [message(f"m{i:05}", i) for i in range(700, 40_000)]
    db.append([*first, message("m00001", 1), RoomRecord("#lobby", "#lobby", 1), *second])
    expected = [f"m{i:05}" for i in range(40_000)]
    assert ids(db, "LATEST", limit=50_000) == expected
    assert db.load_rooms() == [RoomRecord("#lobby", "#lobby", 1)]


def test_messages_and_rooms_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    first = HistoryDB(path)
    first.append([message("kept", 1), RoomRecord("#lobby", "#lobby", 1, topic="t")])
    first.close()
    again = HistoryDB(path)
    assert ids(again, "LATEST") == ["kept"]
    assert again.load_rooms() == [RoomRecord("#lobby", "#lobby", 1, topic="t")]
    again.close()


def test_new_database_has_the_current_schema_version_and_wal(db: HistoryDB) -> None:
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# -- CHATHISTORY LATEST --------------------------------------------------------------------


def test_latest_star_returns_the_newest_messages_oldest_first(lobby: HistoryDB) -> None:
    assert ids(lobby, "LATEST", None, limit=3) == ["m7", "m8", "m9"]


def test_latest_with_msgid_returns_only_messages_after_it(lobby: HistoryDB) -> None:
    assert ids(lobby, "LATEST", "m6", limit=10) == ["m7", "m8", "m9"]
    assert ids(lobby, "LATEST", "m2", limit=2) == ["m8", "m9"]


def test_latest_with_timestamp_excludes_messages_at_that_time(lobby: HistoryDB) -> None:
    assert ids(lobby, "LATEST", 1003, limit=10) == ["m8", "m9"]


def test_latest_on_an_empty_conversation_is_empty(lobby: HistoryDB) -> None:
    assert ids(lobby, "LATEST", key="#nobody") == []


# -- BEFORE / AFTER ------------------------------------------------------------------------


def test_before_msgid_breaks_time_ties_by_storage_order(lobby: HistoryDB) -> None:
    # m3 shares its millisecond with m2: m2 is before it, m3 itself is excluded.
    assert ids(lobby, "BEFORE", "m3", limit=2) == ["m1", "m2"]


def test_before_timestamp_excludes_messages_at_that_time(lobby: HistoryDB) -> None:
    assert ids(lobby, "BEFORE", 1002, limit=3) == ["m1", "m2", "m3"]


def test_after_msgid_returns_the_earliest_messages_after_it(lobby: HistoryDB) -> None:
    assert ids(lobby, "AFTER", "m2", limit=3) == ["m3", "m4", "m5"]


def test_after_timestamp_excludes_messages_at_that_time(lobby: HistoryDB) -> None:
    assert ids(lobby, "AFTER", 1001, limit=2) == ["m4", "m5"]


def test_before_the_first_and_after_the_last_message_are_empty(lobby: HistoryDB) -> None:
    assert ids(lobby, "BEFORE", "m0") == []
    assert ids(lobby, "AFTER", "m9") == []


def test_msgid_prefix_is_accepted(lobby: HistoryDB) -> None:
    assert ids(lobby, "AFTER", "msgid=m8") == ["m9"]


def test_unknown_msgid_gives_an_empty_result(lobby: HistoryDB) -> None:
    assert ids(lobby, "BEFORE", "no-such-id") == []


def test_msgid_of_another_conversation_gives_an_empty_result(lobby: HistoryDB) -> None:
    assert ids(lobby, "AFTER", "other2") == []


def test_zero_limit_gives_an_empty_result(lobby: HistoryDB) -> None:
    assert ids(lobby, "LATEST", None, limit=0) == []


# -- AROUND --------------------------------------------------------------------------------


def test_around_msgid_includes_it_with_half_before(lobby: HistoryDB) -> None:
    assert ids(lobby, "AROUND", "m5", limit=4) == ["m3", "m4", "m5", "m6"]


def test_around_timestamp_splits_at_that_time(lobby: HistoryDB) -> None:
    assert ids(lobby, "AROUND", 1002, limit=3) == ["m3", "m4", "m5"]


def test_around_near_an_end_fills_the_limit_from_the_other_side(lobby: HistoryDB) -> None:
    assert ids(lobby, "AROUND", "m1", limit=6) == ["m0", "m1", "m2", "m3", "m4", "m5"]
    assert ids(lobby, "AROUND", "m9", limit=4) == ["m6", "m7", "m8", "m9"]


def test_around_with_limit_one_returns_the_message_itself(lobby: HistoryDB) -> None:
    assert ids(lobby, "AROUND", "m4", limit=1) == ["m4"]


def test_around_a_time_after_everything_returns_the_latest(lobby: HistoryDB) -> None:
    assert ids(lobby, "AROUND", 9999, limit=3) == ["m7", "m8", "m9"]


# -- BETWEEN -------------------------------------------------------------------------------


def test_between_forwards_counts_from_the_first_bound(lobby: HistoryDB) -> None:
    assert ids(lobby, "BETWEEN", "m1", "m8", limit=3) == ["m2", "m3", "m4"]


def test_between_backwards_counts_from_the_first_bound(lobby: HistoryDB) -> None:
    assert ids(lobby, "BETWEEN", "m8", "m1", limit=3) == ["m5", "m6", "m7"]


def test_between_excludes_both_bounds(lobby: HistoryDB) -> None:
    assert ids(lobby, "BETWEEN", "m1", "m4") == ["m2", "m3"]
    assert ids(lobby, "BETWEEN", 1000, 1003) == ["m2", "m3", "m4", "m5"]


def test_between_mixes_msgid_and_timestamp_bounds(lobby: HistoryDB) -> None:
    assert ids(lobby, "BETWEEN", 1001, "m7") == ["m4", "m5", "m6"]
    assert ids(lobby, "BETWEEN", "m7", 1001, limit=1) == ["m6"]


def test_between_with_nothing_in_between_is_empty(lobby: HistoryDB) -> None:
    assert ids(lobby, "BETWEEN", "m2", "m3") == []
    assert ids(lobby, "BETWEEN", 1002, 1002) == []


# -- private conversations and TARGETS -----------------------------------------------------


def test_private_conversation_is_queried_by_its_key(lobby: HistoryDB) -> None:
    assert ids(lobby, "LATEST", None, limit=2, key=PRIVATE) == ["p8", "p9"]
    assert ids(lobby, "BEFORE", "p1", key=PRIVATE) == ["p0"]


def targets(
    db: HistoryDB, start: int, end: int, keys: tuple[str, ...], limit: int = 10
) -> list[tuple[str, str]]:
    query = HistoryQuery("TARGETS", start=start, end=end, limit=limit, target_keys=keys)
    return [(r.target_key, r.msgid) for r in db.query(query)]


@pytest.fixture
def conversations(db: HistoryDB) -> HistoryDB:
    """Latest messages: #a at 100, "alice carol" at 200, #b at 300 (and #a again at 400)."""
    db.append(
        [
            message("a1", 50, key="#a"),
            message("a2", 100, key="#a"),
            message("c1", 200, key="alice carol"),
            message("b1", 300, key="#b"),
            message("a3", 400, key="#a"),
        ]
    )
    return db


def test_targets_lists_each_conversation_with_its_latest_message_in_the_window(
    conversations: HistoryDB,
) -> None:
    keys = ("#a", "#b", "alice carol", "#never")
    assert targets(conversations, 0, 350, keys) == [
        ("#a", "a2"),
        ("alice carol", "c1"),
        ("#b", "b1"),
    ]


def test_targets_only_lists_the_conversations_the_client_may_see(conversations: HistoryDB) -> None:
    assert targets(conversations, 0, 1000, ("#b",)) == [("#b", "b1")]
    assert targets(conversations, 0, 1000, ()) == []


def test_targets_bounds_are_exclusive(conversations: HistoryDB) -> None:
    assert targets(conversations, 200, 400, ("#a", "#b", "alice carol")) == [("#b", "b1")]


def test_targets_limit_counts_from_the_first_timestamp(conversations: HistoryDB) -> None:
    keys = ("#a", "#b", "alice carol")
    assert targets(conversations, 0, 350, keys, limit=2) == [("#a", "a2"), ("alice carol", "c1")]
    assert targets(conversations, 350, 0, keys, limit=2) == [("alice carol", "c1"), ("#b", "b1")]


def test_unknown_subcommand_is_a_value_error(db: HistoryDB) -> None:
    with pytest.raises(ValueError, match="FETCH"):
        db.query(HistoryQuery("FETCH", LOBBY))


# -- unusable files ------------------------------------------------------------------------


def assert_refused_untouched(path: Path, match: str) -> None:
    """Opening `path` raises StoreError(match) and changes no byte of it, creating no file."""
    before = path.read_bytes()
    siblings = sorted(path.parent.iterdir())
    with pytest.raises(StoreError, match=match) as caught:
        HistoryDB(path)
    assert "\n" not in str(caught.value)
    assert path.read_bytes() == before
    assert sorted(path.parent.iterdir()) == siblings


def test_random_bytes_are_refused_as_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(os.urandom(8192))
    assert_refused_untouched(
        path,
        r"history database .*history.sqlite3 is corrupt \(file is not a database\); "
        "move it aside to start a new one",
    )


def filled_database(path: Path) -> bytes:
    db = HistoryDB(path)
    db.append([message(f"m{i}", i, text="x" * 200) for i in range(2000)])
    db.close()
    return path.read_bytes()


def test_truncated_database_is_refused_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    data = filled_database(path)
    path.write_bytes(data[: len(data) // 2])
    assert_refused_untouched(path, r"is corrupt \(.*\); move it aside")


@pytest.mark.parametrize("where", [0.5, 0.9])
def test_damaged_page_is_found_by_the_integrity_check(tmp_path: Path, where: float) -> None:
    path = tmp_path / "history.sqlite3"
    data = bytearray(filled_database(path))
    page = 4096
    start = int(len(data) // page * where) * page
    data[start : start + page] = b"\xff" * page
    path.write_bytes(bytes(data))
    assert_refused_untouched(path, r"is corrupt \(.+\); move it aside")


def test_other_sqlite_database_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE photos (name TEXT)")
    conn.close()
    assert_refused_untouched(path, "is an SQLite database but not a lanchat history database")


def test_database_of_a_newer_lanchat_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    HistoryDB(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match=r"written by a newer lanchat .*upgrade lanchat"):
        HistoryDB(path)


def test_data_directory_below_a_regular_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file")
    with pytest.raises(
        StoreError,
        match=r"cannot create data directory .*choose another with "
        "--data-dir",
    ):
        HistoryDB(blocker / "lanchat" / "history.sqlite3")


def test_data_directory_that_is_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "lanchat"
    blocker.write_text("a file")
    with pytest.raises(StoreError, match=r"it exists but is not a directory"):
        HistoryDB(blocker / "history.sqlite3")


def test_database_path_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "history.sqlite3").mkdir()
    with pytest.raises(StoreError, match=r"is not a regular file"):
        HistoryDB(tmp_path / "history.sqlite3")


# Run as root in a private mount namespace: a read-only bind mount refuses writes even to root,
# which plain permission bits would not. Prints what opening each kind of directory said.
_OPEN_IN_READ_ONLY_DIR = """
import sys
from pathlib import Path
from lanchat.errors import StoreError
from lanchat.store import HistoryDB
for name in ("existing", "empty", "missing"):
    try:
        HistoryDB(Path(sys.argv[1]) / name / "history.sqlite3")
        print("opened")
    except StoreError as e:
        print(e)
"""


def test_read_only_data_directory_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    HistoryDB(tmp_path / "existing" / "history.sqlite3").close()
    (tmp_path / "empty").mkdir()
    mount_read_only_then_run = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && '
    mount_read_only_then_run += 'exec "$2" -c "$3" "$1"'
    result = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            mount_read_only_then_run,
            "sh",
            str(tmp_path),
            sys.executable,
            _OPEN_IN_READ_ONLY_DIR,
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    existing, empty, missing = result.stdout.splitlines()
    for line, name in ((existing, "existing"), (empty, "empty")):
        assert line == (
            f"cannot write to data directory {tmp_path / name} (unable to open database file); "
            "check its permissions or choose another with --data-dir"
        )
    assert missing == (
        f"cannot create data directory {tmp_path / 'missing'} (read-only file system); "
        "choose another with --data-dir"
    )


def test_immutable_database_file_is_refused_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    HistoryDB(path).close()
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        with pytest.raises(StoreError) as refused:
            HistoryDB(path)
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)
    assert str(refused.value) == (
        f"cannot write to history database {path} (attempt to write a readonly database); "
        "check that the file and its directory are writable (not read-only or immutable) "
        "or choose another directory with --data-dir"
    )
