"""DataDirLock: one server per data directory, and the refusal names the one that has it.

Issue 13, item 10 ("two servers on one data dir diverge: lock it, name the other process").
The lock between two real `lanchat serve` processes is tested in
tests/server/test_store_faults.py; here a second process holds the lock.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lanchat.errors import StoreError
from lanchat.store.lock import LOCK_FILE, DataDirLock

_HOLD = "import sys; from pathlib import Path; from lanchat.store.lock import DataDirLock; "
_HOLD += "DataDirLock(Path(sys.argv[1])); print('locked', flush=True); sys.stdin.read()"


def test_a_second_process_is_refused_with_the_holders_process_id(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(StoreError) as refused:
            DataDirLock(tmp_path)
        holder.communicate("")
    assert str(refused.value) == (
        f"data directory {tmp_path} is in use by another lanchat server (process "
        f"{holder.pid}); stop that one or choose another directory with --data-dir"
    )
    DataDirLock(tmp_path).release()  # the holder exited: its lock went with it


def test_released_lock_can_be_taken_again_and_the_file_names_the_holder(tmp_path: Path) -> None:
    first = DataDirLock(tmp_path)
    first.release()
    first.release()
    second = DataDirLock(tmp_path)
    assert (tmp_path / LOCK_FILE).read_text().strip().isdigit()
    with pytest.raises(StoreError, match="in use by another lanchat server"):
        DataDirLock(tmp_path)
    second.release()
