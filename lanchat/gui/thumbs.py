"""Tk thread only. Previews of shared images under their line in the transcript (issue 21).

Layer: GUI; may import tkinter and lanchat.gui.*, lanchat.client.events; the image is fetched,
checked and shrunk on the network thread (lanchat.client.thumbnails), which hands over PNG
bytes; here they only become a PhotoImage and a button in the transcript.

A link whose name ends like an image (photo.png, IMG_0042.JPG) is asked for once per window
(FetchThumbnail); the connection fetches only links to its own server's file host, so a link
to anywhere else stays a link. The preview is a button on a row of its own under the line that
holds the link, named "Open <file name>"; pressing it opens the full image, as the link does.
A transcript drawn anew (a re-theme, history above) gets its previews back from the ones kept.
At most MAX_KEPT previews are kept (about 170 KB each), the least recently placed forgotten
first; a forgotten one is asked for again if its line is drawn again.
"""

from __future__ import annotations

import base64
import tkinter as tk
from collections import OrderedDict
from collections.abc import Callable, Iterable
from tkinter import ttk
from urllib.parse import unquote, urlsplit

from lanchat.client.events import FetchThumbnail, GuiCommand, ThumbnailReady
from lanchat.gui.access import name
from lanchat.gui.lines import Line

__all__ = ["IMAGE_SUFFIXES", "MAX_KEPT", "THUMBNAIL_TAG", "Previews", "image_links"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp")
THUMBNAIL_TAG = "thumbnail"  # the Text tag of a preview's row
MAX_KEPT = 200  # previews kept per window: a day of shared photos must not grow without end


def _file_name(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def image_links(lines: Iterable[Line]) -> list[str]:
    """The links in `lines` that name an image file (in order, each once)."""
    found: dict[str, None] = {}
    for line in lines:
        for seg in line.segments:
            if "url" in seg.tags and _file_name(seg.text).lower().endswith(IMAGE_SUFFIXES):
                found[seg.text] = None
    return list(found)


class Previews:
    """The previews of one chat window: asked for, kept, and placed in transcripts.

    Args:
        submit: hands a command to the network thread.
        open_url: opens a pressed preview's image (the browser or the image viewer).
        max_kept: how many previews are kept at most.
    """

    def __init__(
        self,
        submit: Callable[[GuiCommand], None],
        open_url: Callable[[str], object],
        max_kept: int = MAX_KEPT,
    ) -> None:
        self._submit = submit
        self.open_url = open_url
        self._max_kept = max_kept
        # url -> its preview, the least recently placed first
        self._images: OrderedDict[str, tk.PhotoImage] = OrderedDict()
        self._asked: set[str] = set()  # urls asked for (once each)

    def show(self, server_id: str, text: tk.Text, lines: Iterable[Line]) -> None:
        """`lines` were just put in transcript `text`: place the previews already here, ask
        for the others."""
        for url in image_links(lines):
            if url in self._images:
                self._place(text, url)
            elif url not in self._asked:
                self._asked.add(url)
                self._submit(FetchThumbnail(server_id, url))

    def ready(self, event: ThumbnailReady, texts: Iterable[tk.Text]) -> None:
        """A preview came: keep it and place it under its link in each of `texts`."""
        texts = list(texts)
        if not texts:
            return
        image = tk.PhotoImage(master=texts[0], data=base64.b64encode(event.png).decode())
        self._images[event.url] = image
        while len(self._images) > self._max_kept:
            forgotten, _ = self._images.popitem(last=False)
            self._asked.discard(forgotten)  # asked for again if its line is drawn again
        for text in texts:
            self._place(text, event.url)

    def _place(self, text: tk.Text, url: str) -> None:
        """Put the preview of `url` on a row under each line of `text` that holds the link
        (once: a row that has it already is left)."""
        self._images.move_to_end(url)
        start = "1.0"
        while found := text.search(url, start, stopindex="end"):
            end = f"{found} lineend"
            if THUMBNAIL_TAG not in text.tag_names(f"{end} +1c"):
                self._insert(text, end, url)
            start = f"{end} +1c"

    def _insert(self, text: tk.Text, end: str, url: str) -> None:
        at_bottom = text.yview()[1] >= 0.999
        title = _file_name(url)
        button = ttk.Button(
            text,
            image=self._images[url],
            style="Link.TButton",
            cursor="hand2",
            takefocus=False,
            command=lambda: self.open_url(url),
        )
        name(button, f"Open {title}")
        state = text.cget("state")
        text.configure(state="normal")
        text.insert(end, "\n", (THUMBNAIL_TAG,))
        text.window_create(f"{end} +1c", window=button, padx=4, pady=4)
        text.tag_add(THUMBNAIL_TAG, f"{end} +1c")
        text.configure(state=state)
        if at_bottom:
            text.see("end")
