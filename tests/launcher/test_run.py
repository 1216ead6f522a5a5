"""`lanchat` / `lanchat launcher` as people start it: its own process and window.

The launcher browses the LAN with mDNS, so it runs inside a fresh network namespace
(tests/gui/lan.py), never on the host's interfaces.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.discovery.netns import Namespace
from tests.gui.lan import bridged_namespaces

pytestmark = [pytest.mark.gui, pytest.mark.netns]


@pytest.fixture
def ns() -> Iterator[Namespace]:
    with bridged_namespaces(1) as namespaces:
        yield namespaces[0]


def test_launcher_opens_its_window(ns: Namespace, tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        ns.argv(sys.executable, "-m", "lanchat"), env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        # xdotool --sync waits for the window to appear; `timeout` bounds that wait
        found = subprocess.run(
            ["timeout", "20", "xdotool", "search", "--sync", "--name", "^lanchat launcher$"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert found.returncode == 0, proc.stderr.read() if proc.poll() is not None else found
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(10)


def test_launcher_without_a_display_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    done = subprocess.run(
        [sys.executable, "-m", "lanchat", "launcher"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("lanchat: error: cannot open a window")
    assert "lanchat serve" in done.stderr
