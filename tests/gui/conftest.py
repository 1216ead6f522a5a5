"""Fixtures of the GUI tests that run the chat window against a real `lanchat serve`
(tests/gui/test_chat_server.py, tests/gui/test_trust.py)."""

from __future__ import annotations

from collections.abc import Iterator
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


@pytest.fixture
def app(tmp_path: Path) -> Iterator[ChatApp]:
    """The chat window with a real network thread; its settings and pins in `tmp_path`
    (test modules with a window of their own define their own `app`)."""
    net = NetworkThread(browse=False, backoff_initial_s=0.2, pins_path=tmp_path / "pins.json")
    net.start()
    with tk_root() as root:
        chat = ChatApp(
            root, net, Settings(nick="alice"), settings_path=tmp_path / "s.json", bell=False
        )
        chat.start()
        yield chat
        chat.close()
