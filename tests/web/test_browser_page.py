"""The browser client (issue 16) in a real Chromium against real `lanchat serve` processes.

Two room servers run in network namespaces on one bridge and see each other's rooms over
mDNS; Chromium (headless, driven by Selenium) and the IRC peers run on this machine, which is
on that bridge too (tests/web/page_lan.py). One Chromium serves the whole module. Controls
are found by role and accessible name, as a screen reader finds them (tests/web/page_browser.py).

Screenshots for the README are taken along the way into build/screenshots (or
$LANCHAT_SCREENSHOT_DIR; `scripts/screenshots` refreshes docs/screenshots).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from parser_tests import data as vectors
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from lanchat.client.events import Action, MessageReceived, Say
from tests.discovery.netns import Namespace
from tests.gui.lan import bridged_namespaces
from tests.web.page_browser import DESKTOP, Page, chromium, ui
from tests.web.page_lan import (
    LibraryPeer,
    irc_user,
    page_url,
    running,
    synced,
    wait_lan_room,
)

pytestmark = [pytest.mark.netns]

RECONNECT_TIMEOUT_S = 30.0  # the page retries after at most 10 s (+20 %), the server starts


@pytest.fixture(scope="module")
def lan() -> Iterator[list[Namespace]]:
    """Two namespaces for room servers, on a bridge this machine is on too."""
    with bridged_namespaces(2, host=True) as namespaces:
        yield namespaces


@pytest.fixture
def here(lan: list[Namespace]) -> Namespace:
    """The namespace of the room server the page is opened from."""
    return lan[0]


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    """One Chromium for the module: each test opens the page afresh."""
    with chromium() as page:
        yield page


def privmsg(text: str) -> object:
    return lambda m: m.verb == "PRIVMSG" and m.params[-1] == text


def says(page: Page, name: str, text: str, within: str | None = None) -> bool:
    """Whether the description of the button `name` has `text` (e.g. "1 unread")."""
    return text in page.description("button", name, within)


async def join_from_page(page: Page, url: str, nick: str, room: str) -> None:
    """Open the page, give the nickname and pick `room`: its conversation is shown."""
    await ui(page.open, url)
    await ui(page.type_into, "textbox", "Nickname", nick)
    await ui(page.click, "button", room)
    await ui(page.log, room)


async def test_guest_finds_rooms_joins_and_chats_with_irc_and_library_clients(
    lan: list[Namespace], page: Page, tmp_path: Path
) -> None:
    here, there = lan
    url = page_url(here)
    async with (
        running(here, tmp_path / "here"),
        running(there, tmp_path / "there", "--room", "#games"),
    ):
        bob = await irc_user(here, "bob", "#lobby")
        bob.send("TOPIC #lobby :Friday LAN party: slides, snacks and a tournament")
        for text in ("Doors open at 7", "Bring a power strip if you can"):
            bob.send(f"PRIVMSG #lobby :{text}")
        await synced(bob)
        dave = await LibraryPeer.joined(here, "dave", "#lobby")
        dave.conn.handle(Say("dave", "#lobby", "I'll bring the projector"))
        await dave.expect(MessageReceived, lambda e: e.own)
        games = await wait_lan_room(here, "#games")
        try:
            # The room list: this server's rooms with topic and people, the LAN's as links.
            await ui(page.open, url)
            details = await ui(lambda: page.control("button", "#lobby").text)
            assert "Friday LAN party" in details and "2 people" in details
            assert await ui(says, page, "#lobby", "Friday LAN party")
            link = await ui(page.control, "link", "#games")
            assert await ui(link.get_attribute, "href") == f"http://{there.address}:8080/"
            assert games["web"] == f"http://{there.address}:8080/"
            await ui(page.screenshot, "web-rooms-phone.png")

            # Join: the history is there, then talk both ways.
            await ui(page.type_into, "textbox", "Nickname", "carol")
            await ui(page.click, "button", "#lobby")
            expected = [
                "Doors open at 7",
                "Bring a power strip if you can",
                "I'll bring the projector",
            ]
            await ui(page.wait_lines, "#lobby", expected)
            assert "Friday LAN party" in await ui(lambda: page.text())
            await ui(page.say, "Hi all! Slides are at https://example.org/slides")
            await bob.expect(privmsg("Hi all! Slides are at https://example.org/slides"))
            heard = await dave.expect(MessageReceived, lambda e: e.nick == "carol")
            assert heard.text == "Hi all! Slides are at https://example.org/slides"
            link = await ui(page.control, "link", "https://example.org/slides")
            assert (await ui(link.get_attribute, "rel")).split() == ["noopener", "noreferrer"]

            bob.send("PRIVMSG #lobby :carol: can you bring the extension cord?")
            line = await ui(page.wait_line, "#lobby", "carol: can you bring the extension cord?")
            assert "mention" in (await ui(line.get_attribute, "class")).split()
            dave.conn.handle(Action("dave", "#lobby", "waves"))
            await ui(page.wait_line, "#lobby", "dave waves")
            await ui(page.say, "/me waves back")
            await bob.expect(privmsg("\x01ACTION waves back\x01"))

            # The member list, behind its button on a phone.
            await ui(page.click, "button", "Members")
            for nick in ("bob", "carol", "dave"):
                await ui(page.control, "button", nick)
            # A private message: its own conversation, counted as unread until opened. The
            # page redraws what changed, not the member list: a keyboard's place there stays.
            await ui(page.script, "arguments[0].focus()", await ui(page.control, "button", "bob"))
            bob.send("PRIVMSG carol :Psst, the code for the door is 1234")
            await ui(
                page.wait, "the unread count in the title", lambda: page.driver.title[:3] == "(1)"
            )
            focused = "return document.activeElement.getAttribute('aria-label')"
            assert await ui(page.script, focused) == "bob"
            await ui(page.click, "button", "Close members")

            await ui(page.click, "button", "Conversations")
            await ui(page.wait, "bob's message counted", lambda: says(page, "bob", "1 unread"))
            assert await ui(says, page, "bob", "1 for you")
            await ui(page.click, "button", "bob")
            await ui(page.wait_line, "bob", "Psst, the code for the door is 1234")
            await ui(page.say, "Thanks!")
            await bob.expect(lambda m: m.verb == "PRIVMSG" and m.params == ("bob", "Thanks!"))
            # Meanwhile in the room: counted there, as it is not the conversation shown.
            dave.conn.handle(Say("dave", "#lobby", "The projector is up"))
            await ui(page.click, "button", "Conversations")
            await ui(page.wait, "the room's unread line", lambda: says(page, "#lobby", "1 unread"))
            assert not await ui(says, page, "#lobby", "for you")
            await ui(page.click, "button", "#lobby")
            await ui(page.wait_line, "#lobby", "The projector is up")
            await ui(page.click, "button", "Conversations")
            await ui(page.click, "button", "#lobby")
            await ui(page.wait_line, "#lobby", "dave waves")
            await ui(page.screenshot, "web-chat-phone.png")
            await ui(page.color_scheme, "dark")
            await ui(page.screenshot, "web-chat-phone-dark.png")
            await ui(page.color_scheme, "light")
            await ui(page.resize, DESKTOP)
            bob.send("PRIVMSG carol :See you at 7!")
            await ui(
                page.wait,
                "bob's badge",
                lambda: says(page, "bob", "1 unread", "Conversations"),
            )
            await ui(page.screenshot, "web-chat-desktop.png")

            # The nickname is remembered on this device.
            await ui(page.open, url)
            field = await ui(page.control, "textbox", "Nickname")
            assert await ui(field.get_attribute, "value") == "carol"
        finally:
            await bob.close()
            await dave.close()


async def test_reconnect_after_restart_fills_the_gap_once(
    here: Namespace, page: Page, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    async with running(here, data):
        bob = await irc_user(here, "bob", "#lobby")
        for text in ("before 1", "before 2"):
            bob.send(f"PRIVMSG #lobby :{text}")
        await synced(bob)
        await join_from_page(page, page_url(here), "carol", "#lobby")
        await ui(page.wait_lines, "#lobby", ["before 1", "before 2"])
        await ui(page.say, "mine, before")
        await bob.expect(privmsg("mine, before"))
        await bob.close()

    # Down; up without the web page, while bob says what carol must not miss; down again.
    await ui(
        page.wait, "the page saying it lost the link", lambda: "Connection lost" in page.text()
    )
    # Nothing typed is lost while the link is down: it stays in the box until sent.
    await ui(page.type_into, "textbox", "Message", "typed while away")
    await ui(page.click, "button", "Send")
    await ui(
        page.wait, "a note that the message was kept", lambda: "stays in the box" in page.text()
    )
    assert await ui(page.message_box_text) == "typed while away"
    async with running(here, data, "--no-web"):
        bob = await irc_user(here, "bob", "#lobby")
        for text in ("gap 1", "gap 2", "gap 3"):
            bob.send(f"PRIVMSG #lobby :{text}")
        await synced(bob)
        await bob.close()

    async with running(here, data):
        gap = ["before 1", "before 2", "mine, before", "gap 1", "gap 2", "gap 3"]
        await ui(
            page.wait, "the gap filled", lambda: page.lines("#lobby") == gap, RECONNECT_TIMEOUT_S
        )
        bob = await irc_user(here, "bob", "#lobby")
        bob.send("PRIVMSG #lobby :after")
        await ui(page.wait_lines, "#lobby", [*gap, "after"])
        await ui(page.click, "button", "Send")
        await bob.expect(privmsg("typed while away"))
        await ui(page.wait_lines, "#lobby", [*gap, "after", "typed while away"])
        await bob.close()


async def test_a_room_with_a_key_asks_for_it(here: Namespace, page: Page, tmp_path: Path) -> None:
    async with running(here, tmp_path / "data", "--room", "#staff", "--key", "sesame"):
        await ui(page.open, page_url(here))
        await ui(page.type_into, "textbox", "Nickname", "carol")
        await ui(page.click, "button", "#staff")
        await ui(page.type_into, "textbox", "Room key", "wrong")
        await ui(page.click, "button", "Join")
        await ui(page.wait, "the wrong key refused", lambda: "#staff needs a key" in page.text())
        await ui(page.say, "/join #staff sesame")
        await ui(page.log, "#staff")
        await ui(page.say, "in at last")
        await ui(page.wait_line, "#staff", "in at last")


async def test_a_server_password_is_asked_for_when_needed(
    here: Namespace, page: Page, tmp_path: Path
) -> None:
    async with running(here, tmp_path / "data", "--password", "opensesame"):
        await ui(page.open, page_url(here))
        await ui(page.type_into, "textbox", "Nickname", "carol")
        await ui(page.click, "button", "#lobby")
        await ui(page.wait, "the need said", lambda: "needs a password" in page.text())
        await ui(page.type_into, "textbox", "Server password", "opensesame")
        await ui(page.click, "button", "#lobby")
        await ui(page.log, "#lobby")


HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_ROOM = "#<img/src=x/onerror=alert(1)>"


async def test_hostile_room_topic_message_and_lan_ad_are_shown_as_text(
    lan: list[Namespace], page: Page, tmp_path: Path
) -> None:
    here, there = lan
    async with (
        running(here, tmp_path / "data"),
        running(there, tmp_path / "there", "--room", HOSTILE_ROOM),
    ):
        await wait_lan_room(here, HOSTILE_ROOM)  # another server's ad, over mDNS
        bob = await irc_user(here, "bob", HOSTILE_ROOM)
        bob.send(f"TOPIC {HOSTILE_ROOM} :{HOSTILE}")
        message = f"{HOSTILE} <b>bold</b> javascript:alert(2) https://example.org/ok"
        bob.send(f"PRIVMSG {HOSTILE_ROOM} :{message}")
        await synced(bob)
        try:
            await ui(page.console)  # forget what earlier tests logged
            await join_from_page(page, page_url(here), "carol", HOSTILE_ROOM)
            await ui(page.wait_line, HOSTILE_ROOM, message)
            await ui(page.click, "button", "Conversations")
            ad = await ui(page.control, "link", HOSTILE_ROOM, "Conversations")
            assert await ui(ad.get_attribute, "href") == page_url(there)
            await ui(page.click, "button", "Close conversations")
            assert HOSTILE in await ui(page.text)  # the topic, as text
            bob.send(f"PRIVMSG {HOSTILE_ROOM} :still text: {HOSTILE}")
            await ui(page.wait_line, HOSTILE_ROOM, f"still text: {HOSTILE}")

            injected = await ui(
                page.script,
                "return document.querySelectorAll('img:not([src=\"icon.svg\"]), b').length",
            )
            assert injected == 0
            links = await ui(page.driver.find_elements, By.CSS_SELECTOR, "[role=log] a")
            assert [await ui(a.get_attribute, "href") for a in links] == ["https://example.org/ok"]
            with pytest.raises(NoAlertPresentException):
                await ui(lambda: page.driver.switch_to.alert.text)
            console = await ui(page.console)
            assert not [m for m in console if "Content Security Policy" in m or "SEVERE" in m], (
                console
            )
        finally:
            await bob.close()


async def test_light_and_dark_follow_the_system_setting(
    here: Namespace, page: Page, tmp_path: Path
) -> None:
    async with running(here, tmp_path / "data"):
        await ui(page.open, page_url(here))
        await ui(page.control, "button", "#lobby")
        colours = {}
        for scheme in ("light", "dark"):
            await ui(page.color_scheme, scheme)
            colours[scheme] = await ui(
                page.script, "return getComputedStyle(document.body).backgroundColor"
            )
        await ui(page.color_scheme, "light")
        assert colours == {"light": "rgb(246, 246, 249)", "dark": "rgb(17, 18, 23)"}


SMALL_PHONE = (360, 740)  # issue 16: usable at 360 px wide
CONTROLS = "button, a, input, textarea, select, [role=button], [role=link]"
# Visible controls smaller than 44x44 CSS px (links inside message text are exempt, as in
# WCAG 2.5.8: they are part of a sentence).
SMALL_TARGETS = """return [...document.querySelectorAll('button, a, input')]
  .filter((e) => e.getClientRects().length && !e.closest('.text')
    && getComputedStyle(e).visibility === 'visible')
  .map((e) => [e.getAttribute('aria-label') || e.textContent.trim(), e.getBoundingClientRect()])
  .filter(([, r]) => r.width < 44 || r.height < 44)
  .map(([name, r]) => `${name}: ${r.width}x${r.height}`);"""


def assert_fits_a_small_phone(page: Page, where: str) -> None:
    """No control under 44 px, nothing wider than the screen, and every control named."""
    assert page.script(SMALL_TARGETS) == [], where
    assert page.script("return document.documentElement.scrollWidth") == SMALL_PHONE[0], where
    shown = [e for e in page.driver.find_elements(By.CSS_SELECTOR, CONTROLS) if e.is_displayed()]
    unnamed = [e.get_attribute("outerHTML") for e in shown if not e.accessible_name.strip()]
    assert unnamed == [], where


async def test_touch_targets_are_44_px_on_a_360_px_phone(
    here: Namespace, page: Page, tmp_path: Path
) -> None:
    async with running(here, tmp_path / "data"):
        await ui(page.open, page_url(here), SMALL_PHONE)
        await ui(page.control, "button", "#lobby")
        await ui(assert_fits_a_small_phone, page, "the room list")
        await ui(page.type_into, "textbox", "Nickname", "carol")
        await ui(page.click, "button", "#lobby")
        await ui(page.say, "Hello from a small phone, see https://example.org/a-rather-long-path")
        await ui(assert_fits_a_small_phone, page, "a room")
        for drawer in ("Conversations", "Members"):
            await ui(page.click, "button", drawer)
            await ui(page.control, "button", "carol" if drawer == "Members" else "#lobby")
            await ui(assert_fits_a_small_phone, page, f"the {drawer} drawer")
            await ui(page.click, "button", f"Close {drawer.lower()}")


async def test_line_parser_passes_the_ircdocs_vectors_in_the_browser(
    here: Namespace, page: Page, tmp_path: Path
) -> None:
    async with running(here, tmp_path / "data"):
        await ui(page.open, page_url(here))
        failures = await ui(
            page.driver.execute_async_script,
            """const [split, join, done] = arguments;
            import(new URL('irc.js', location.href).href).then(({ parse, format }) => {
              const bad = [];
              const same = (x, y) => JSON.stringify({ ...x, tags: Object.entries(x.tags).sort() })
                === JSON.stringify({ ...y, tags: Object.entries(y.tags).sort() });
              for (const t of split) {
                const a = t.atoms;
                const want = { tags: a.tags || {}, source: a.source ?? null,
                               command: a.verb.toUpperCase(), params: a.params || [] };
                const got = parse(t.input);
                if (!same(got, want)) bad.push([t.input, got]);
              }
              for (const t of join) {
                const a = t.atoms;
                const tags = Object.fromEntries(
                  Object.entries(a.tags || {}).map(([k, v]) => [k, v ?? '']));
                const line = format(
                  { tags, source: a.source, command: a.verb, params: a.params || [] });
                if (!t.matches.includes(line)) bad.push([t.desc, line]);
              }
              done(bad);
            });""",
            vectors.msg_split["tests"],
            vectors.msg_join["tests"],
        )
        assert failures == []
