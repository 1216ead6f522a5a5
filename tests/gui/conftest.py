"""Fixtures of the GUI tests that run the chat window against a real `lanchat serve`
(tests/gui/test_chat_server.py, tests/gui/test_trust.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lanchat.client.bridge import NetworkThread
from lanchat.gui.app import ChatApp
from lanchat.gui.settings import Settings
from lanchat.launcher.supervisor import HostedRoom, RoomReady, Supervisor
from tests.gui.tk_support import tk_root


@pytest.fixture
def room(tmp_path: Path) -> Iterator[HostedRoom]:
    """#party, hosted on 127.0.0.1 by the launcher's supervisor (TLS on a free port)."""
    sup = Supervisor(data_root=tmp_path / "hosted", serve_args=["--host", "127.0.0.1", "--no-mdns"])
    hosted = sup.start("#party")
    assert isinstance(sup.events.get(timeout=20), RoomReady)
    yield hosted
    sup.stop_all()


@contextmanager
def chat_window(folder: Path, nick: str) -> Iterator[ChatApp]:
    """A chat window for `nick` with a real network thread (its own Tk interpreter); its
    settings (s.json) and pins (pins.json) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    net = NetworkThread(browse=False, backoff_initial_s=0.2, pins_path=folder / "pins.json")
    net.start()
    with tk_root() as root:
        chat = ChatApp(root, net, Settings(nick=nick), settings_path=folder / "s.json", bell=False)
        chat.start()
        yield chat
        chat.close()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[ChatApp]:
    """Alice's chat window (test modules with a window of their own define their own `app`)."""
    with chat_window(tmp_path, "alice") as chat:
        yield chat
