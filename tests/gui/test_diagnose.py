"""The "Why can't I see anyone?" button and dialog with real Tk under Xvfb and real checks.

The checks look only at the host end of a veth link to a namespace where a real `lanchat
serve` hosts #games (tests/discovery/netns.py), never at eth0; controls are found by their
accessible names.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from tkinter import ttk

import pytest

from lanchat.client.bridge import NetworkThread
from lanchat.discovery.checks import CHECKS
from lanchat.gui.access import find, unnamed_controls
from lanchat.gui.app import ChatApp
from lanchat.gui.diagnose import TITLE, DiagnosisButton, DiagnosisDialog
from lanchat.gui.settings import Settings
from tests.discovery.netns import REPO, Namespace, host_link
from tests.gui.tk_support import run_until, screenshot, tk_root

pytestmark = [pytest.mark.gui, pytest.mark.netns]


@pytest.fixture
def lan(tmp_path: Path) -> Iterator[tuple[str, Namespace]]:
    """A veth link to a namespace whose `lanchat serve` hosts #games; (host end, namespace)."""
    with host_link() as (host_address, ns):
        server = subprocess.Popen(
            ns.argv(
                sys.executable, "-m", "lanchat", "serve", "--port", "0", "--room", "#games",
                "--data-dir", str(tmp_path), "--name", "bob-pc",
            ),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO,
        )  # fmt: skip
        try:
            assert server.stdout is not None
            for line in server.stdout:
                if line.startswith("ready: port"):
                    break
            yield host_address, ns
        finally:
            server.terminate()
            server.wait(10)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[ChatApp]:
    network = NetworkThread(browse=False)
    network.start()
    with tk_root() as root:
        chat = ChatApp(root, network, Settings(nick="alice"), settings_path=tmp_path / "s.json")
        chat.start()
        yield chat
        chat.close()
    network.stop()


def test_the_rooms_page_button_runs_every_check_and_shows_a_qr_code(
    app: ChatApp, lan: tuple[str, Namespace]
) -> None:
    host_address, _ = lan
    button = find(app.root, TITLE)
    assert isinstance(button, DiagnosisButton)
    button.interfaces = (host_address,)
    button.listen_s = 1.5
    button.invoke()
    dialog = button.dialog
    assert isinstance(dialog, DiagnosisDialog) and dialog.title() == TITLE
    run_until(app.root, lambda: len(dialog.results) == len(CHECKS), dialog.report, timeout_s=20)
    # (rooms hosted on this machine are announced on the link too: others may be listed)
    assert dialog.results["rooms"].status.value == "ok"
    assert "#games on " in dialog.results["rooms"].verdict
    assert dialog.results["neighbours"].status.value == "ok"
    assert dialog.rows["rooms"].verdict.cget("text") == dialog.results["rooms"].verdict
    assert dialog.qr.cget("text") == f"Scan to connect: {host_address}"
    assert dialog.qr.cget("image")
    assert unnamed_controls(dialog) == []
    again = find(dialog, "Check again")
    assert isinstance(again, ttk.Button)
    run_until(app.root, lambda: again.instate(["!disabled"]), "Check again enabled at the end")
    find(dialog, "Copy report").invoke()  # type: ignore[attr-defined]
    assert app.root.clipboard_get().startswith(
        f"ok        Network address: This computer is {host_address} on "
    )
    screenshot(dialog, REPO / "build" / "screenshots" / "diagnose.png")
    button.invoke()  # a second press raises the open dialog rather than opening another
    assert button.dialog is dialog
    find(dialog, "Close").invoke()  # type: ignore[attr-defined]
    assert not dialog.winfo_exists()
