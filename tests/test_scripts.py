"""What scripts/run, scripts/test and scripts/bench do and say, run as a newcomer runs them."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _checked_modules() -> list[str]:
    """The modules `mypy lanchat` (scripts/test) checks, as dotted names."""
    names = []
    for path in (REPO / "lanchat").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_mypy_override_applies_to_a_checked_module() -> None:
    # mypy prints "unused section(s)" on every scripts/test run for an override that matches
    # nothing it checks; "a.*" matches a and everything under it (mypy's config docs).
    overrides = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    modules = _checked_modules()
    for override in overrides:
        for pattern in override["module"]:
            wanted = [pattern, pattern.removesuffix(".*")] if pattern.endswith(".*") else [pattern]
            assert any(fnmatch.fnmatchcase(m, w) for m in modules for w in wanted), pattern
