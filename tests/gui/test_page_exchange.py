"""The web page and the desktop client in one room pass files both ways (issue 21: "The web
page and the Tk client each send a file that the other shows").

A real `lanchat serve` hosted by the launcher's supervisor, the real chat window under Xvfb
(alice) and the real page in a headless Chromium (carol, on the room's web address). The page
sends a file through its attach button's file input; the desktop client shows the link in
the transcript, and the link gives the file back byte for byte. The desktop client sends an
image by pasting its path; the page shows its link and an inline thumbnail of it.

Tk runs on this thread, so every wait on the page is polled from `run_until`, which keeps Tk
handling its events meanwhile.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from lanchat.client.upload import share_text
from lanchat.gui.app import ChatApp
from lanchat.launcher.supervisor import HostedRoom
from tests.gui.test_chat_server import party
from tests.gui.tk_support import focus, run_until
from tests.web.filehost import png
from tests.web.page_browser import DESKTOP, Page, chromium

pytestmark = pytest.mark.gui

ROOM = "#party"


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium() as page:
        yield page


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as got:
        return bytes(got.read())


def page_line_with(page: Page, start: str) -> str:
    """The text of the page's line in #party that starts with `start` ("" for none)."""
    return next((line for line in page.lines(ROOM) if line.startswith(start)), "")


def test_the_page_and_the_desktop_client_send_each_other_files(
    app: ChatApp, room: HostedRoom, page: Page, tmp_path: Path
) -> None:
    # alice on the desktop client, carol on the page at the room's web address.
    app.connect("127.0.0.1", room.port, "alice", rooms=(ROOM,))
    view = party(app, room.port)
    run_until(app.root, lambda: view.member_rows() == ["@alice (you)"], view.member_rows)
    [web] = [url for url in room.web_urls() if url.startswith("http://127.0.0.1:")]
    page.open(web, DESKTOP)
    page.type_into("textbox", "Nickname", "carol")
    page.click("button", ROOM)
    page.control("button", "Attach a file")
    run_until(app.root, lambda: "carol" in view.member_rows(), view.member_rows)

    # The page sends slides.pdf: alice sees the link, which gives the file back.
    slides = tmp_path / "slides.pdf"
    slides.write_bytes(os.urandom(2_300_000))
    page.driver.find_element(By.CSS_SELECTOR, "input[type=file][multiple]").send_keys(str(slides))
    said = "* carol shared slides.pdf (2.3 MB): http://127.0.0.1:"
    run_until(app.root, lambda: said in view.contents(), view.contents)
    row = next(row for row in view.contents().splitlines() if said in row)
    link = row.rsplit(" ", 1)[1]
    assert row.endswith(f"* carol {share_text(slides.name, 2_300_000, link)}"), row
    assert view.text.get(*view.text.tag_prevrange("url", "end")) == link  # shown as a link
    assert fetch(link) == slides.read_bytes()

    # alice pastes an image's path into the message line: the page shows it inline.
    photo = tmp_path / "cat.png"
    photo.write_bytes(png(80, 60))
    app.root.clipboard_clear()
    app.root.clipboard_append(str(photo))
    focus(app.input.entry)
    app.input.entry.event_generate("<<Paste>>")
    start = f"alice shared cat.png ({len(photo.read_bytes())} bytes): http://127.0.0.1:"
    run_until(app.root, lambda: bool(page_line_with(page, start)), lambda: page.text())
    shown = page_line_with(page, start).rsplit(" ", 1)[1]
    run_until(
        app.root,
        lambda: [photo.name, shown, 80] in page.thumbnails(),
        lambda: f"the thumbnail of cat.png in {page.thumbnails()}",
    )
    assert page.control("link", photo.name).get_attribute("href") == shown  # opens the image
    assert fetch(shown) == photo.read_bytes()
