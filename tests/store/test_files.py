"""The files directory and its metadata (lanchat.store.files, issue 21), with a given clock."""

from __future__ import annotations

import os
from pathlib import Path

from lanchat.store.files import FileStore, SharedFile, files_dir


def _upload(
    store: FileStore, data: bytes, uploader: str = "address:10.0.0.1", now: float = 0.0
) -> SharedFile:
    partial = store.new_partial()
    partial.write_bytes(data)
    return store.keep(
        partial, name="../x.txt", content_type="text/plain", uploader=uploader, now=now,
        expires=now + 100,
    )  # fmt: skip


def test_kept_files_have_random_names_and_count_for_their_uploader(tmp_path: Path) -> None:
    store = FileStore(files_dir(tmp_path))
    a = _upload(store, b"12345")
    _upload(store, b"678", uploader="address:10.0.0.2")
    assert os.listdir(store.partial) == []
    assert len(os.listdir(store.kept)) == 2 and a.id in os.listdir(store.kept)
    assert store.path(a).read_bytes() == b"12345" and store.get(a.id, 1.0) == a
    assert store.used_bytes("address:10.0.0.1") == 5 and store.used_bytes() == 8
    assert not (tmp_path / "x.txt").exists()


def test_files_expire_at_their_time(tmp_path: Path) -> None:
    store = FileStore(files_dir(tmp_path))
    a = _upload(store, b"old", now=0.0)
    b = _upload(store, b"new", now=50.0)
    assert store.get(a.id, 100.0) is None  # expired: no longer served, even before a sweep
    assert store.expire(120.0) == 1
    assert os.listdir(store.kept) == [b.id]
    assert store.get(b.id, 120.0) == b


def test_files_deleted_by_hand_are_forgotten_at_the_next_sweep(tmp_path: Path) -> None:
    store = FileStore(files_dir(tmp_path))
    a = _upload(store, b"12345")
    store.path(a).unlink()  # the launcher's "Clear shared files"
    assert store.used_bytes() == 5
    assert store.expire(0.0) == 1
    assert store.used_bytes() == 0 and store.get(a.id, 0.0) is None


def test_what_a_crash_left_is_cleared_at_open(tmp_path: Path) -> None:
    store = FileStore(files_dir(tmp_path))
    kept = _upload(store, b"whole")
    store.new_partial().write_bytes(b"half")
    (store.kept / "renamed-but-no-row").write_bytes(b"x")
    store.close()
    again = FileStore(files_dir(tmp_path))
    assert os.listdir(again.partial) == []
    assert os.listdir(again.kept) == [kept.id]
    assert again.get(kept.id, 0.0) == kept
