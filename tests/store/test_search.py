"""SEARCH on real SQLite files: the trigram index, quoting, filters, redaction, the migration.

Spec: soju.im/search (text matching is the server's choice); lanchat.store.search says ours.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanchat.store import db as db_module
from lanchat.store import search as search_module
from lanchat.store.db import HistoryDB
from lanchat.store.records import HistoryQuery, HistoryRecord, Redaction, RoomRecord
from tests.store.test_db import message

TEXTS = (
    "Café au lait, please",  # m0
    "the lanchat server is up",  # m1
    "東京タワーに行きます",  # m2 (no spaces between the words)
    "Привет, мир",  # m3
    "ok go",  # m4
    "100% sure_thing",  # m5
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[HistoryDB]:
    db = HistoryDB(tmp_path / "history.sqlite3")
    db.append([message(f"m{i}", 1000 + i, text=text) for i, text in enumerate(TEXTS)])
    db.append([message("x0", 1000, key="#other", text="lanchat elsewhere")])
    yield db
    db.close()


def found(db: HistoryDB, text: str = "", **kwargs: object) -> list[str]:
    """The msgids a SEARCH of #lobby (by default) returns, in order."""
    fields: dict[str, object] = {"target_keys": ("#lobby",), "text": text}
    fields.update(kwargs)
    return [r.msgid for r in db.query(HistoryQuery("SEARCH", **fields))]  # type: ignore[arg-type]


def test_substrings_match_in_any_script_and_case(db: HistoryDB) -> None:
    assert found(db, "chat") == ["m1"]  # inside a word
    assert found(db, "CAFÉ") == ["m0"]  # Unicode case folding
    assert found(db, "タワー") == ["m2"]  # CJK without word breaks
    assert found(db, "ПРИВЕТ") == ["m3"]


def test_every_word_must_occur(db: HistoryDB) -> None:
    assert found(db, "lanchat up") == ["m1"]
    assert found(db, "lanchat café") == []


def test_fts_syntax_is_only_text(db: HistoryDB) -> None:
    for hostile in ('"', 'lan" OR "caf', "NEAR(lan caf)", "lan*", "text:lan", "-lanchat", "^lan"):
        assert found(db, hostile) == []
    assert found(db, "100%") == ["m5"]
    assert found(db, "_thing") == ["m5"]  # LIKE wildcards in short words are literal too


def test_words_under_three_characters_are_matched_by_scan(db: HistoryDB) -> None:
    # Trigram cannot look them up; they still narrow (or make) the result.
    assert found(db, "ok") == ["m4"]
    assert found(db, "go ok") == ["m4"]
    assert found(db, "lait au") == ["m0"]
    assert found(db, "lait zz") == []


def test_search_stays_in_the_given_rooms(db: HistoryDB) -> None:
    assert found(db, "lanchat", target_keys=("#lobby", "#other")) == ["x0", "m1"]
    assert found(db, "lanchat", target_keys=()) == []


def test_from_after_before_and_limit(db: HistoryDB) -> None:
    db.append([HistoryRecord("b0", 2000, "PRIVMSG", "Bob!b@192.0.2.8", "#lobby", "#lobby", "lan")])
    assert found(db, sender="bob") == ["b0"]  # the nick, case-insensitively
    assert found(db, sender="bo") == []
    assert found(db, start=1004) == ["m4", "m5", "b0"]
    assert found(db, end=1001) == ["m0", "m1"]
    assert found(db, "", limit=2) == ["m5", "b0"]  # the latest without a start...
    assert found(db, "", start=1000, limit=2) == ["m0", "m1"]  # ...the earliest from it
    assert found(db, "lan", limit=1) == ["b0"]


def test_tagmsg_is_not_found(db: HistoryDB) -> None:
    db.append([message("t0", 3000, text="", command="TAGMSG")])
    assert "t0" not in found(db)


def test_redaction_removes_the_message_and_its_words(db: HistoryDB) -> None:
    db.append([Redaction("m1", "#other")])  # another room's msgid deletes nothing
    assert found(db, "lanchat") == ["m1"]
    db.append([Redaction("m1", "#lobby")])
    assert found(db, "lanchat") == []
    assert db.query(HistoryQuery("MSGID", target_key="#lobby", start="m1")) == []
    assert db.query(HistoryQuery("LATEST", target_key="#lobby", limit=10))[0].msgid == "m0"
    _integrity_check(db)  # the index holds exactly the rows that are left


def test_msgid_lookup_is_per_conversation(db: HistoryDB) -> None:
    (record,) = db.query(HistoryQuery("MSGID", target_key="#lobby", start="m3"))
    assert record.text == "Привет, мир"
    assert db.query(HistoryQuery("MSGID", target_key="#other", start="m3")) == []


def test_upgrade_indexes_existing_history_and_logs_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for statement in db_module._MIGRATIONS[0]:
        assert isinstance(statement, str)
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")  # a database of the release before the index
    conn.executemany(
        "INSERT INTO messages (msgid, time_ms, target_key, command, source, target, text)"
        " VALUES (?, ?, '#lobby', 'PRIVMSG', 'a!a@h', '#lobby', ?)",
        [(f"o{i}", i, f"old message {i}") for i in range(25)],
    )
    conn.commit()
    conn.close()
    monkeypatch.setattr(search_module, "_FILL_ROWS", 10)
    monkeypatch.setattr(search_module, "_LOG_FILL_FROM", 20)
    with caplog.at_level(logging.WARNING, "lanchat.store.search"):
        upgraded = HistoryDB(path)
    assert [r.message for r in caplog.records][-1] == "search index: 25 of 25 messages (100%)"
    assert len(caplog.records) == 4  # the start, then one line per step of 10
    hits = upgraded.query(HistoryQuery("SEARCH", target_keys=("#lobby",), text="message 7"))
    assert [r.msgid for r in hits] == ["o7", "o17"]  # substrings: "7" is in "17"
    upgraded.append([message("n0", 100, text="new message 7")])  # the triggers run too
    hits = upgraded.query(HistoryQuery("SEARCH", target_keys=("#lobby",), text="message 7"))
    assert [r.msgid for r in hits] == ["o7", "o17", "n0"]
    upgraded.close()


def _integrity_check(db: HistoryDB) -> None:
    """FTS5's own check that the index holds exactly the rows of `messages` (raises if not)."""
    conn = sqlite3.connect(db.path)
    conn.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
    conn.close()


def test_room_names_are_not_text(db: HistoryDB) -> None:
    # The index holds each row's target_key too (to narrow by room); words never match it.
    assert found(db, "lobby") == []
    assert found(db, "lanchat", target_keys=("#other",)) == ["x0"]


def test_a_forgotten_rooms_history_leaves_the_search_with_it(db: HistoryDB) -> None:
    db.append([RoomRecord("#other", "#other", 5, deleted=True)])
    assert found(db, "lanchat", target_keys=("#other",)) == []
    _integrity_check(db)


def test_a_search_without_an_indexable_word_reads_a_bounded_window(
    db: HistoryDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "_SCAN_ROWS", 2)
    assert found(db, "ok") == ["m4"]  # among the latest two of #lobby
    assert found(db, "au") == []  # m0 is older than those
    assert found(db, "au", start=1000) == ["m0"]  # from `after`: the earliest two
    assert found(db, "lanchat up") == ["m1"]  # an indexable word: the index, no window
