"""Files on the page (issue 21) in a real Chromium against a real server: the attach button's
file input, a dropped and a pasted file, the progress bar and its Cancel, the link posted in
the desktop client's words, and inline thumbnails of this server's images only.

The server runs in this process on 127.0.0.1 (tests/web/filehost.py); Chromium is headless
(tests/web/page_browser.py). A native file chooser cannot be driven, so a file is given to the
attach button's file input as WebDriver does ("Element Send Keys" on <input type=file>).
"""

from __future__ import annotations

import asyncio
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from lanchat.client.upload import share_text
from lanchat.web.sharing import human_size, link_name
from lanchat.web.site import STATIC_DIR
from tests.support import LineClient, run_serve_process
from tests.web.filehost import file_server, png
from tests.web.page_browser import Page, chromium, ui

ROOM = "#party"


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with chromium() as page:
        yield page


async def bob_in_party(port: int) -> LineClient:
    """A plain IRC client in #party (so the room is listed on the page)."""
    bob = await LineClient.connect(port)
    await bob.register("bob")
    bob.send(f"JOIN {ROOM}")
    await bob.expect("366")
    return bob


async def join(page: Page, web_port: int, nick: str = "carol") -> str:
    """Open the page, pick a nickname and #party; returns the page's origin."""
    origin = f"http://127.0.0.1:{web_port}"
    await ui(page.open, origin + "/")
    await ui(page.type_into, "textbox", "Nickname", nick)
    await ui(page.click, "button", ROOM)
    await ui(page.log, ROOM)
    await ui(page.control, "button", "Attach a file")  # shown once the server offers FILEHOST
    return origin


def choose(page: Page, *paths: Path) -> None:
    """What choosing files in the attach button's chooser does: the file input gets them."""
    chooser = page.driver.find_element(By.CSS_SELECTOR, "input[type=file][multiple]")
    chooser.send_keys("\n".join(str(p) for p in paths))


async def shared_link(bob: LineClient, name: str) -> str:
    """The link of the ACTION that shares `name`, as a plain IRC client receives it."""
    msg = await bob.expect("PRIVMSG", lambda m: f"shared {name} (" in m.params[-1])
    text = msg.params[-1]
    assert text.startswith("\x01ACTION ") and text.endswith("\x01")
    return text[len("\x01ACTION ") : -1].rsplit(" ", 1)[1]


async def download(link: str) -> bytes:
    """The file at `link`, fetched in a thread (the server runs on this event loop)."""

    def fetch() -> bytes:
        with urllib.request.urlopen(link, timeout=10) as got:
            return bytes(got.read())

    return await asyncio.to_thread(fetch)


def test_the_page_words_a_share_as_the_desktop_client_does(page: Page, tmp_path: Path) -> None:
    page.driver.get("data:text/html,<title>files</title>")  # files.js needs no server
    sizes = [0, 1, 999, 1000, 1049, 1050, 1051, 2250, 2350, 2750, 999_949, 999_950]
    sizes += [999_999, 1_000_000, 2_250_000, 123_456_789, 999_950_000, 10**12, 3 * 10**12]
    names = ["slides.pdf", "été photo.png", "it's (1)*!.txt", "a/b\\c.png", "日本.jpg", "~_.-"]
    source = (STATIC_DIR / "files.js").read_text()
    got = page.driver.execute_async_script(
        """const [source, sizes, names, done] = arguments;
        const url = URL.createObjectURL(new Blob([source], {type: 'text/javascript'}));
        import(url).then((m) => done({
          texts: sizes.map((n) => m.shareText('a.png', n, 'http://h/f')),
          names: names.map(m.encodedName),
          images: [
            'http://127.0.0.1:8/files/ABCDEFGHIJKLMNOPQRSTUVWX/cat.PNG',
            'http://127.0.0.1:8/files/ABCDEFGHIJKLMNOPQRSTUVWX/%C3%A9t%C3%A9.jpg',
            'http://127.0.0.1:8/files/ABCDEFGHIJKLMNOPQRSTUVWX/cat.svg',
            'http://127.0.0.1:8/files/ABCDEFGHIJKLMNOPQRSTUVWX/cat.html',
            'http://127.0.0.1:8/files/ABCDEFGHIJKLMNOPQRSTUVWX/cat.png?x=1',
            'http://127.0.0.1:8/files/ABCDEFGHIJKLMNOPQRSTUVW/cat.png',
            'http://127.0.0.1:8/files/ABCDEFGHIJKLMNOPQRSTUVWX/a/cat.png',
            'http://127.0.0.1:9/files/ABCDEFGHIJKLMNOPQRSTUVWX/cat.png',
            'https://127.0.0.1:8/files/ABCDEFGHIJKLMNOPQRSTUVWX/cat.png',
            'http://127.0.0.1:8/files/ABCDEFGHIJKLMNOPQRSTUVWX/.png',
            'http://127.0.0.1:8/files/ABCDEFGHIJKLMNOPQRSTUVWX/%E0%A4%A.png',
          ].map((href) => m.sharedImageName(href, 'http://127.0.0.1:8')),
        }));""",
        source,
        sizes,
        names,
    )
    assert got["texts"] == [share_text("a.png", n, "http://h/f") for n in sizes]
    assert [human_size(n) for n in (2250, 2750)] == ["2.2 kB", "2.8 kB"]  # ties go to even
    assert got["names"] == [link_name(n) for n in names]
    # Only this origin's shared-file links to raster images; never SVG or HTML.
    assert got["images"] == ["cat.PNG", "été.jpg"] + [""] * 9


async def test_a_file_chosen_on_the_page_is_shared_and_an_image_shown_inline(
    page: Page, tmp_path: Path
) -> None:
    photo = tmp_path / "cat photo.png"
    photo.write_bytes(png(1200, 900))  # bigger than a thumbnail
    notes = tmp_path / "notes.svg"
    notes.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    async with file_server(tmp_path / "data") as server:
        bob = await bob_in_party(server.port)
        origin = await join(page, server.web_port)
        await ui(choose, page, photo, notes)
        link = await shared_link(bob, photo.name)
        assert link.startswith(origin + "/files/")
        text = share_text(photo.name, photo.stat().st_size, link)
        svg_link = await shared_link(bob, notes.name)
        assert await download(link) == photo.read_bytes()
        await ui(page.wait_line, ROOM, f"carol {text}")
        # The image is shown (decoded: its natural width), named by the file, opening it;
        # the SVG stays a link.
        await ui(
            page.wait,
            "the thumbnail of the photo",
            lambda: page.thumbnails() == [[photo.name, link, 1200]] or None,
        )
        # Loaded when scrolled near, and shown small: at most 320 x 240 CSS pixels.
        loading, width, height = page.script(
            """const img = document.querySelector('#messages a img');
            const box = img.getBoundingClientRect();
            return [img.loading, box.width, box.height];"""
        )
        assert loading == "lazy" and 0 < width <= 320 and 0 < height <= 240
        await ui(page.control, "link", photo.name)  # the thumbnail: a link named by its image
        await ui(page.control, "link", svg_link)
        assert not [m for m in await ui(page.console) if "Content Security Policy" in m]
        # bob shares an image too: the page shows it inline.
        bob.send(f"PRIVMSG {ROOM} :\x01ACTION shared x.png (1 kB): {link}\x01")
        await ui(
            page.wait,
            "bob's image inline",
            lambda: len(page.thumbnails()) == 2 or None,
        )
        # A link to an image that is gone (expired, deleted) stays a link, without a thumbnail.
        gone = f"{origin}/files/{'A' * 24}/gone.png"
        bob.send(f"PRIVMSG {ROOM} :\x01ACTION shared gone.png (1 kB): {gone}\x01")
        await ui(page.control, "link", gone)
        await ui(
            page.wait,
            "the broken thumbnail taken away",
            lambda: all(alt != "gone.png" for alt, _, _ in page.thumbnails()) or None,
        )
        assert len(page.thumbnails()) == 2
        await bob.close()


async def test_dropped_and_pasted_files_are_shared(page: Page, tmp_path: Path) -> None:
    async with file_server(tmp_path / "data") as server:
        bob = await bob_in_party(server.port)
        await join(page, server.web_port)
        # The dropped file's name has a line break, which the server drops from the name it
        # keeps: the IRC line that shares it must not break.
        for name, target, kept in (("dr\nop.txt", "#chat", "drop.txt"),
                                   ("paste.txt", "#message", "paste.txt")):  # fmt: skip
            page.script(
                """const [name, target] = arguments;
                const data = new DataTransfer();
                data.items.add(new File(['hello'], name, {type: 'text/plain'}));
                const init = {bubbles: true, cancelable: true};
                const event = target === '#chat'
                  ? new DragEvent('drop', {...init, dataTransfer: data})
                  : new ClipboardEvent('paste', {...init, clipboardData: data});
                document.querySelector(target).dispatchEvent(event);""",
                name,
                target,
            )
            link = await shared_link(bob, kept)
            assert await download(link) == b"hello"
        assert await ui(page.message_box_text) == ""  # a pasted file is not pasted as text
        await bob.close()


async def test_cancel_stops_an_upload_and_nothing_is_kept_or_said(
    page: Page, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 << 20))
    async with file_server(tmp_path / "data") as server:
        bob = await bob_in_party(server.port)
        await join(page, server.web_port)
        # Uploads at 2 MB/s, so there is time to press Cancel.
        page.driver.execute_cdp_cmd("Network.enable", {})
        page.driver.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1,
             "uploadThroughput": 2_000_000},
        )  # fmt: skip
        try:
            await ui(choose, page, big)
            bar = await ui(page.control, "progressbar", "Sending big.bin")
            await ui(
                page.wait,
                "some of big.bin sent",
                lambda: float(bar.get_attribute("value") or 0) > 0 or None,
            )
            await ui(page.click, "button", "Cancel big.bin")
            await ui(page.gone, "progressbar", "Sending big.bin")
        finally:
            page.driver.execute_cdp_cmd("Network.disable", {})
        kept = tmp_path / "data" / "files" / "kept"
        assert os.listdir(kept) == []
        bob.send("PING :after")
        await bob.expect("PONG")
        assert not [m for m in bob.seen if m.params and "shared big.bin" in m.params[-1]]
        await bob.close()


async def test_a_refused_upload_says_why(page: Page, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 30_000_000)
    async with file_server(tmp_path / "data", max_file_bytes=1_000_000) as server:
        bob = await bob_in_party(server.port)
        await join(page, server.web_port)
        await ui(choose, page, big)
        await ui(
            page.wait,
            "the refusal",
            lambda: (
                "Could not send big.bin: This file is 30.0 MB; this server takes files up to 1.0 MB"
                in page.text()
                or None
            ),
        )
        await bob.close()


async def test_a_touch_screen_also_gets_a_camera_button(page: Page, tmp_path: Path) -> None:
    async with file_server(tmp_path / "data") as server:
        bob = await bob_in_party(server.port)
        page.driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})
        try:
            await join(page, server.web_port)
            await ui(page.control, "button", "Take a photo")
            camera = page.script(
                """const input = document.querySelector('input[type=file][capture]');
                return [input.accept, input.getAttribute('capture'), input.multiple];"""
            )
            assert camera == ["image/*", "environment", False]
        finally:
            page.driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": False})
        await ui(page.open, f"http://127.0.0.1:{server.web_port}/")
        await ui(page.type_into, "textbox", "Nickname", "dave")
        await ui(page.click, "button", ROOM)
        await ui(page.control, "button", "Attach a file")
        assert not page.controls("button", "Take a photo")  # a mouse: the chooser is enough
        await bob.close()


async def test_over_https_the_page_shares_and_shows_images_too(page: Page, tmp_path: Path) -> None:
    photo = tmp_path / "cat.png"
    photo.write_bytes(png(40, 30))
    async with run_serve_process(tmp_path / "data", "--web-tls", web=True) as server:
        [url] = [line.strip() for line in server.output if line.startswith("  https://")]
        bob = await bob_in_party(server.port)
        # The certificate is self-signed: the person accepts it once, as a browser asks.
        page.driver.execute_cdp_cmd("Security.setIgnoreCertificateErrors", {"ignore": True})
        try:
            await ui(page.open, url)
            await ui(page.type_into, "textbox", "Nickname", "carol")
            await ui(page.click, "button", ROOM)
            await ui(page.control, "button", "Attach a file")
            await ui(choose, page, photo)
            link = await shared_link(bob, photo.name)
            assert link.startswith(url + "files/")
            await ui(
                page.wait,
                "the thumbnail over https",
                lambda: page.thumbnails() == [[photo.name, link, 40]] or None,
            )
            assert not [m for m in await ui(page.console) if "Content Security Policy" in m]
        finally:
            page.driver.execute_cdp_cmd("Security.setIgnoreCertificateErrors", {"ignore": False})
        await bob.close()
