"""Makes scripts/benchkit importable as `benchkit` for the tests of the benchmark tool.

Layer: test support for tests/bench (issue #4). benchkit is a tool outside the lanchat package
that scripts/bench runs with PYTHONPATH=scripts; the tests get the same path here. Worker
processes started with multiprocessing's 'spawn' inherit it (spawn passes sys.path on).
"""

from __future__ import annotations

import sys
from pathlib import Path

SCRIPTS = str(Path(__file__).resolve().parents[2] / "scripts")
if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)
