"""What one account read is read everywhere: the chat window (real Tk under Xvfb) and the web
page (a real Chromium) signed in to the same account on a real `lanchat serve`, with a plain
IRC client as the other person (ircv3 draft/read-marker; issue 15, "unread state shared with
the web client").

Reading in one clears the unread count and the "New messages" line in the other, both ways;
a room read nowhere shows the line above the first message not read, in both.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By

from lanchat.gui.app import ChatApp
from lanchat.gui.viewmodel import conversation_key
from lanchat.launcher.supervisor import HostedRoom
from tests.gui.test_account import SCRYPT_TIMEOUT_S
from tests.gui.test_chat_server import RawClient, party
from tests.gui.tk_support import focus, run_until
from tests.web.page_browser import DESKTOP, Page, chromium

pytestmark = pytest.mark.gui


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium() as page:
        yield page


def unread_of(page: Page, conversation: str) -> str:
    """What the page says of `conversation` in its list ("1 unread", "" when all is read):
    the description of its button, read in one script (it is polled)."""
    said = page.script(
        "const b = [...document.querySelectorAll('#conversations button')]"
        "  .find((b) => b.getAttribute('aria-label') === arguments[0]);"
        "return b && document.getElementById(b.getAttribute('aria-describedby')).textContent;",
        conversation,
    )
    return str(said or "")


def unread_line_above(page: Page) -> str:
    """The text of the message just below the page's "New messages" line ("" for none)."""
    found = page.script(
        "const l = document.querySelector('li.unread-line');"
        "return l && l.nextElementSibling.querySelector('.text').textContent;"
    )
    return str(found or "")


def test_reading_in_the_window_or_on_the_page_is_read_in_both(
    app: ChatApp, room: HostedRoom, page: Page
) -> None:
    sign_up = RawClient(room.port, "alice")
    sign_up.send("REGISTER alice * wonderland")
    sign_up.wait_for("REGISTER SUCCESS", timeout_s=SCRYPT_TIMEOUT_S)
    sign_up.close()
    bob = RawClient(room.port, "bob")
    bob.send("JOIN #party")
    server_id = f"127.0.0.1:{room.port}"
    app.settings = app.settings.with_account(server_id, "alice", "wonderland")
    app.connect("127.0.0.1", room.port, "alice", rooms=("#party",))
    view = party(app, room.port)
    conv = app.model.conversations[conversation_key(server_id, "#party")]
    run_until(app.root, lambda: "You joined #party." in view.contents(), view.contents)
    bob.send("WHOIS alice")
    bob.wait_for(" 330 bob alice alice ")  # RPL_WHOISACCOUNT: the window is logged in

    # The page, signed in to the same account under another nick.
    web_url = next(url for url in room.web_urls() if "127.0.0.1" in url)
    page.open(web_url, DESKTOP)
    page.type_into("textbox", "Nickname", "alicephone")
    page.click("button", "Sign in to your account (optional)")
    page.type_into("textbox", "Account", "alice")
    page.control("textbox", "Account password").send_keys("wonderland")
    page.click("checkbox", "Remember me")
    page.click("button", "#party")
    page.log("#party")
    page.wait("signed in", lambda: "signed in as alice" in page.text())

    # Read nowhere: both show "New messages" above it; reading it on the page (looked at,
    # scrolled to its end) reads it in the window too.
    page.say("/query bob")  # the page shows another conversation
    page.log("bob")
    focus(app.input.entry)
    app.tabs.select(app.rooms_page)  # and so does the window
    bob.send("PRIVMSG #party :news one")
    run_until(app.root, lambda: conv.unread == 1, lambda: str(conv.unread))
    assert "New messages" in view.contents()
    page.wait("#party unread on the page", lambda: unread_of(page, "#party") == "1 unread")
    page.click("button", "#party", within="Conversations")
    page.wait("the New messages line", lambda: unread_line_above(page) == "news one")
    assert page.controls("separator", "New messages")
    run_until(app.root, lambda: conv.unread == 0, lambda: str(conv.unread))
    assert app.tabs.tab(view, "text") == "#party"
    assert "New messages" not in view.contents()

    # Read in the window: read on the page, with no "New messages" line when opened there.
    page.click("button", "bob", within="Conversations")
    bob.send("PRIVMSG #party :news two")
    run_until(app.root, lambda: conv.unread == 1, lambda: str(conv.unread))
    page.wait("#party unread on the page", lambda: unread_of(page, "#party") == "1 unread")
    app.tabs.select(view)
    run_until(app.root, lambda: unread_of(page, "#party") == "", lambda: unread_of(page, "#party"))
    page.click("button", "#party", within="Conversations")
    page.wait_line("#party", "news two")
    assert unread_line_above(page) == ""

    # Remembered: the next visit signs in with the same account by itself.
    page.open(web_url, DESKTOP)
    account = page.control("textbox", "Account")
    assert account.get_attribute("value") == "alice"
    assert page.driver.find_element(By.ID, "remember").is_selected()
    bob.close()
