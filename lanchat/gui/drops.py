"""Tk thread only. Files dropped on the chat window from a file manager are sent (issue 21).

Layer: GUI; may import tkinter and the tkdnd Tcl extension (shipped by tkinterdnd2).
Spec: XDND on X11, OLE drag and drop on Windows, Cocoa on macOS: tkdnd speaks each one and
gives a drop of files as the Tk virtual event <<Drop:DND_Files>> with the paths in %D.

Tk has no drag and drop of its own. tkinterdnd2 ships tkdnd built for Linux, Windows and macOS;
only its loader is used here (`TkinterDnD.require`), the rest is tkdnd's own Tcl commands. Where
the extension cannot load (no wheel for the platform, a Tcl it was not built for) the window
takes no drops and says nothing: "Send a file…" and pasting a file do the same job.
"""

from __future__ import annotations

import logging
import tkinter as tk
from collections.abc import Callable
from pathlib import Path

__all__ = ["accept_dropped_files", "dropped_files"]

log = logging.getLogger(__name__)


def dropped_files(widget: tk.Misc, data: str) -> tuple[list[Path], list[str]]:
    """Split a drop's %D into the files to send and the names of what cannot be sent.

    Args:
        widget: any widget of the window (for Tcl's list parsing).
        data: the Tcl list of paths tkdnd gives (folders and vanished files included).

    Returns:
        The regular files, and the names of the rest (folders, files gone since the drag).
    """
    files: list[Path] = []
    refused: list[str] = []
    for item in widget.tk.splitlist(data):
        path = Path(str(item))
        if path.is_file():
            files.append(path)
        else:
            refused.append(path.name or str(path))
    return files, refused


def accept_dropped_files(
    window: tk.Misc,
    share: Callable[[Path], None],
    refuse: Callable[[list[str]], None],
) -> bool:
    """Let files be dropped anywhere on `window`; each dropped file goes to `share`.

    Args:
        window: the chat window's root (its children take drops through it).
        share: called once per dropped file, as "Send a file…" would with the chosen one.
        refuse: called with the names of dropped things that are not files (folders).

    Returns:
        Whether drops are taken (False where the tkdnd extension cannot load).
    """
    try:
        from tkinterdnd2 import TkinterDnD  # type: ignore[import-untyped]  # ships no types

        version = TkinterDnD.require(window)
    except (ImportError, RuntimeError) as e:
        log.info("files cannot be dropped on this window (tkdnd did not load: %s)", e)
        return False

    def drop(data: str) -> str:
        files, refused = dropped_files(window, data)
        for path in files:
            share(path)
        if refused:
            refuse(refused)
        return "copy" if files else "refuse_drop"

    command = window.register(drop)
    window.tk.call("tkdnd::drop_target", "register", window, ("DND_Files",))
    window.tk.call("bind", window, "<<Drop:DND_Files>>", f"{command} %D")
    log.debug("files can be dropped on this window (tkdnd %s)", version)
    return True
