"""A real Chromium for the browser client's tests, driven by Selenium, and the page it shows.

Debian's `chromium` and `chromium-driver` (scripts/test installs them): the driver is given by
path and the browser binary too, so Selenium Manager never looks anything up or downloads.
Chromium runs headless, so no display is needed; phone-sized pages are the device metrics of a
phone (390x844 CSS pixels, 2 device pixels each), not a small window, as a window cannot be
narrower than 500 pixels.

`Page` finds controls as assistive technology does: by their computed role and accessible
name (WebDriver's "Get Computed Role" and "Get Computed Label"), never by id or class. Its
methods block; async tests call them through `asyncio.to_thread` (the `ui()` helper), so the
event loop running the servers' readers and the IRC test clients never waits on the browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.discovery.netns import REPO

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PHONE = (390, 844)  # CSS pixels of a common phone (iPhone 12-15); issue 16: usable at 360
DESKTOP = (1280, 800)
STEP_TIMEOUT_S = 15.0  # one step of a scenario on a loaded 2-core machine
SHOTS = Path(os.environ.get("LANCHAT_SCREENSHOT_DIR", REPO / "build" / "screenshots"))
# Where controls are looked for: everything that can have a role and a name of its own.
_CANDIDATES = "button, a[href], input, textarea, select, progress, [role]"

T = TypeVar("T")


async def ui(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one blocking browser step in a thread, so the event loop keeps running."""
    return await asyncio.to_thread(partial(fn, *args, **kwargs))


def start_chromium() -> webdriver.Chrome:
    """A headless Chromium with its browser console kept for `Page.console()`."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # the tests run as root, where Chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",  # no update or safe-browsing lookups
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--lang=en-US",
        "--window-size=1280,900",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


@contextlib.contextmanager
def chromium() -> Iterator[Page]:
    """A headless Chromium as a Page, quit at the end of the block (a test module's fixture)."""
    driver = start_chromium()
    try:
        yield Page(driver)
    finally:
        driver.quit()


class Page:
    """The lanchat page in one Chromium: open it, find controls by role and name, read it."""

    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver

    # ------------------------------------------------------------------ the browser

    def open(self, url: str, size: tuple[int, int] = PHONE) -> None:
        """Load `url` at this viewport size (phone metrics unless DESKTOP)."""
        self.resize(size)
        self.driver.get(url)

    def resize(self, size: tuple[int, int]) -> None:
        width, height = size
        phone = width < DESKTOP[0]
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 2 if phone else 1,
             "mobile": phone},
        )  # fmt: skip

    def color_scheme(self, scheme: str) -> None:
        """Emulate the system's light or dark setting (prefers-color-scheme)."""
        self.driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
        )

    def screenshot(self, name: str) -> Path:
        """Save the viewport as SHOTS/name once the drawers' transitions have finished."""
        self.wait(
            "the page's transitions finished",
            lambda: self.script("return document.getAnimations().length === 0"),
        )
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / name
        self.driver.save_screenshot(str(path))
        return path

    def console(self) -> list[str]:
        """The browser console's messages since the last call (errors, CSP reports...)."""
        return [str(entry["message"]) for entry in self.driver.get_log("browser")]

    def script(self, source: str, *args: Any) -> Any:
        return self.driver.execute_script(source, *args)

    # ------------------------------------------------------------------ finding things

    def wait(
        self, what: str, found: Callable[[], T | None], timeout_s: float = STEP_TIMEOUT_S
    ) -> T:
        """Poll `found()` until it returns something; fail saying `what` never appeared."""

        def attempt(_: Any) -> T | None:
            try:
                return found()
            except StaleElementReferenceException:  # the page redrew it meanwhile: look again
                return None

        wait = WebDriverWait(self.driver, timeout_s, poll_frequency=0.1)
        return wait.until(attempt, f"{what} within {timeout_s}s; page text:\n{self.text()}")

    def landmark(self, name: str) -> WebElement:
        """The visible landmark (navigation, complementary...) with this accessible name."""
        for element in self.driver.find_elements(By.CSS_SELECTOR, "nav, aside, main, section"):
            if element.is_displayed() and element.accessible_name == name:
                return element
        raise AssertionError(f"no landmark named {name!r}")

    def controls(
        self, role: str, name: str | None = None, within: str | None = None
    ) -> list[WebElement]:
        """The visible elements with computed `role` (and accessible `name`), in page order,
        in the landmark named `within` if given (as a screen reader's landmark navigation)."""
        scope = self.landmark(within) if within else self.driver
        found = []
        for element in scope.find_elements(By.CSS_SELECTOR, _CANDIDATES):
            if element.aria_role != role or not element.is_displayed():
                continue
            if name is None or element.accessible_name == name:
                found.append(element)
        return found

    def control(
        self, role: str, name: str, within: str | None = None, timeout_s: float = STEP_TIMEOUT_S
    ) -> WebElement:
        """The one visible control with this role and accessible name (waits for it)."""

        def one() -> WebElement | None:
            matches = self.controls(role, name, within)
            assert len(matches) <= 1, f"{len(matches)} {role}s are named {name!r}"
            return matches[0] if matches else None

        return self.wait(f"a {role} named {name!r}", one, timeout_s)

    def gone(self, role: str, name: str, timeout_s: float = STEP_TIMEOUT_S) -> None:
        """Wait until no visible control has this role and name."""
        self.wait(f"no {role} named {name!r}", lambda: not self.controls(role, name), timeout_s)

    def text(self) -> str:
        try:
            return str(self.driver.find_element(By.TAG_NAME, "body").text)
        except WebDriverException:
            return "(no page)"

    def described(self, element: WebElement) -> str:
        """The text of the elements that describe `element` (aria-describedby)."""
        ids = (element.get_attribute("aria-describedby") or "").split()
        return " ".join(
            self.driver.find_element(By.ID, i).get_attribute("textContent") for i in ids
        )

    def description(self, role: str, name: str, within: str | None = None) -> str:
        """What describes the control with this role and name, looked up afresh (the page
        redraws a list when what it shows changes)."""
        return self.described(self.control(role, name, within))

    # ------------------------------------------------------------------ doing things

    def click(self, role: str, name: str, within: str | None = None) -> None:
        """Click the control with this role and name; found again if the page redrew it."""

        def clicked() -> bool:
            self.control(role, name, within).click()
            return True

        self.wait(f"a click on the {role} named {name!r}", clicked)

    def type_into(self, role: str, name: str, text: str) -> WebElement:
        field = self.control(role, name)
        field.clear()
        field.send_keys(text)
        return field

    def say(self, text: str) -> None:
        """Type `text` in the message box and press the Send button."""
        self.type_into("textbox", "Message", text)
        self.click("button", "Send")
        self.wait("the message box emptied after Send", lambda: not self.message_box_text())

    def message_box_text(self) -> str:
        return str(self.control("textbox", "Message").get_attribute("value"))

    # ------------------------------------------------------------------ the conversation

    def log(self, conversation: str) -> WebElement:
        return self.control("log", f"Messages in {conversation}")

    def lines(self, conversation: str) -> list[str]:
        """The texts of the messages shown in `conversation` (not the joins and parts)."""
        log = self.log(conversation)
        items = log.find_elements(By.CSS_SELECTOR, "li.line:not(.system) .text")
        return [str(item.text) for item in items]

    def wait_line(self, conversation: str, text: str) -> WebElement:
        """The message line of `conversation` whose text is `text` (waits for it)."""

        def find() -> WebElement | None:
            for item in self.log(conversation).find_elements(By.CSS_SELECTOR, "li.line"):
                body = item.find_elements(By.CSS_SELECTOR, ".text, .system-text")
                if body and body[0].text == text:
                    return item
            return None

        return self.wait(f"the line {text!r} in {conversation}", find)

    def thumbnails(self) -> list[list[str | int]]:
        """[alt text, the link it opens, natural width] of each image in the conversation
        shown (a natural width of 0: not loaded or not decodable)."""
        return list(
            self.script(
                """return [...document.querySelectorAll('#messages a img')].map(
                     (img) => [img.alt, img.closest('a').href, img.naturalWidth]);"""
            )
        )

    def wait_lines(self, conversation: str, expected: list[str]) -> None:
        """Wait until `conversation` shows exactly these message texts, in this order."""
        self.wait(
            f"exactly {expected} in {conversation} (now {self.lines(conversation)})",
            lambda: self.lines(conversation) == expected,
        )
