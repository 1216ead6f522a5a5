"""Accounts in the chat window: the password check, the settings file, and the real thing.

The last test registers the nick through the dialog against a real `lanchat serve` and
connects again: the window logs in by itself with the remembered password.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lanchat.client import events as ev
from lanchat.gui import settings as settings_mod
from lanchat.gui.account import RegisterDialog, password_problem
from lanchat.gui.app import ChatApp
from lanchat.gui.settings import Settings
from lanchat.launcher.supervisor import HostedRoom
from tests.gui.test_chat_server import party
from tests.gui.tk_support import run_until

SCRYPT_TIMEOUT_S = 30.0


@pytest.mark.parametrize(
    ("password", "repeated", "problem"),
    [
        ("short", "short", "at least 6 characters"),
        ("with space", "with space", "Leave spaces out"),
        ("wonderland", "wonderlant", "The two passwords differ"),
        ("wonderland", "wonderland", None),
    ],
)
def test_password_problem_says_what_to_type(
    password: str, repeated: str, problem: str | None
) -> None:
    found = password_problem(password, repeated)
    assert found == problem if problem is None else problem in (found or "")


def test_account_password_is_saved_for_its_server_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    s = Settings(nick="alice").with_account("pc1:6667", "alice", "wonderland")
    s = s.with_account("pc2:6667", "al", "other-one").with_account("pc1:6667", "alice", "new-one")
    assert settings_mod.save(s, path) is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = settings_mod.load(path)
    assert loaded.account_for("pc1:6667") == ("alice", "new-one")
    assert loaded.account_for("pc2:6667") == ("al", "other-one")
    assert loaded.account_for("pc3:6667") is None


@pytest.mark.gui
def test_register_button_hides_without_a_conversation(app: ChatApp) -> None:
    assert not app.accounts.button.winfo_manager()  # the Rooms page is in front


@pytest.mark.gui
def test_register_this_nick_then_log_in_by_itself(
    app: ChatApp, room: HostedRoom, tmp_path: Path
) -> None:
    server_id = app.connect("127.0.0.1", room.port, "alice", rooms=("#party",))
    view = party(app, room.port)
    run_until(app.root, lambda: app.servers[server_id].state == "connected", "connected")
    assert app.accounts.button.winfo_manager()  # shown: a tab of this server is in front
    app.accounts.button.invoke()
    dialog = app.accounts.dialog
    assert isinstance(dialog, RegisterDialog)
    dialog.password.insert(0, "wonderland")
    dialog.repeated.insert(0, "wonderlan")
    dialog.ok.invoke()
    assert "differ" in dialog.problem.cget("text")
    dialog.repeated.insert("end", "d")
    dialog.ok.invoke()
    run_until(
        app.root,
        lambda: "Registered alice" in view.contents(),
        view.contents,
        timeout_s=SCRYPT_TIMEOUT_S,
    )
    assert not app.accounts.button.winfo_manager()  # logged in there: nothing to register
    saved = settings_mod.load(tmp_path / "s.json")
    assert saved.account_for(server_id) == ("alice", "wonderland")
    app.network.submit(ev.Quit(server_id, "bye"))
    app.servers[server_id].state = "closed"
    app.connect("127.0.0.1", room.port, "alice", rooms=("#party",))
    run_until(
        app.root,
        lambda: "Logged in as alice." in view.contents(),
        view.contents,
        timeout_s=SCRYPT_TIMEOUT_S,
    )
