"""The one rule for package exports (lanchat/__init__.py) and typed event dispatch (issue 19)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

import lanchat
from lanchat.client import events as ev
from lanchat.client.events import ClientEvent
from lanchat.gui.incoming import HANDLERS

PACKAGES = sorted(
    info.name for info in pkgutil.walk_packages(lanchat.__path__, "lanchat.") if info.ispkg
)


@pytest.mark.parametrize("name", PACKAGES)
def test_every_package_lists_its_api_in_all_and_every_name_exists(name: str) -> None:
    package = importlib.import_module(name)
    assert isinstance(package.__all__, list), name
    assert [n for n in package.__all__ if not hasattr(package, n)] == []


def test_discovery_events_and_the_windows_that_match_on_them_load_no_zeroconf() -> None:
    code = (
        "import sys\n"
        "import lanchat.discovery, lanchat.discovery.events\n"
        "import lanchat.gui.app, lanchat.launcher.app\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'zeroconf'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_the_window_handles_every_client_event_by_its_type() -> None:
    # The certificate questions go to the trust dialog (ChatApp.handle), the rest here.
    trust = {ev.CertificateMismatch, ev.CertificateUnknown}
    # An upload token is taken by the connection's file sharing (lanchat.client.sharing).
    taken = {ev.UploadTokenGranted}
    assert set(HANDLERS) == set(get_args(ClientEvent)) - trust - taken


@pytest.mark.parametrize("package", ["gui", "launcher"])
def test_no_event_is_dispatched_by_its_class_name(package: str) -> None:
    # type(event).__name__ compared with strings hid the link from grep and mypy (issue 19).
    for path in sorted((Path(lanchat.__file__).parent / package).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "__name__":
                assert not isinstance(node.value, ast.Call), f"{path.name}:{node.lineno}"
