"""lanchat.values.value: frozen to the type checker, a plain slotted dataclass at run time."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

from lanchat.values import value


@value
class Fast:
    name: str
    count: int = 0
    tags: dict[str, str] = dataclasses.field(default_factory=dict, hash=False)


@dataclasses.dataclass(frozen=True, slots=True)
class Frozen:
    name: str
    count: int = 0
    tags: dict[str, str] = dataclasses.field(default_factory=dict, hash=False)


def test_a_value_compares_hashes_and_prints_like_a_frozen_dataclass() -> None:
    fast, frozen = Fast("a", 2, {"k": "v"}), Frozen("a", 2, {"k": "v"})
    assert fast == Fast("a", 2, {"k": "v"}) != Fast("a", 3)
    assert hash(fast) == hash(Fast("a", 2)) == hash(frozen)  # tags are not hashed
    assert repr(fast).replace("Fast", "Frozen") == repr(frozen)
    assert not hasattr(fast, "__dict__")  # slotted
    assert dataclasses.replace(fast, count=5) == Fast("a", 5, {"k": "v"})


def test_the_type_checker_refuses_an_assignment_to_a_field(tmp_path: Path) -> None:
    snippet = tmp_path / "assign.py"
    snippet.write_text(
        "from lanchat.protocol.message import Message\n"
        "m = Message('PRIVMSG', ('#a', 'hi'))\n"
        "m.command = 'NOTICE'\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(snippet)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout
    assert 'assign.py:3: error: Property "command" defined in "Message" is read-only' in (
        result.stdout
    )
