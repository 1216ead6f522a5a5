"""Accessible names: every control of the windows has one, and tests find controls by it.

Layer: GUI (Tk main thread only); imports tkinter only.

Tk 8.6 has no accessibility API of its own (no AT-SPI, UI Automation or NSAccessibility
names), so the name a screen reader would read is kept here, in a Tcl array of the window's
interpreter keyed by widget path: it needs no Python attribute on the widget and survives
`nametowidget`. A button or label is named by its text unless given a name; a field, list or
transcript needs `name()` (the words of the label beside it, as a screen reader would say).
Tests find controls with `find(root, "Retry now")`, the way a person (or a screen reader)
does, rather than by attribute paths into the code.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Iterator
from typing import TypeVar

__all__ = ["CONTROL_CLASSES", "controls", "find", "name", "name_of", "unnamed_controls"]

W = TypeVar("W", bound=tk.Misc)

_ARRAY = "::lanchat_accessible_name"  # Tcl array: widget path -> accessible name

# The widget classes a person operates (Tk class names), which must each have a name.
CONTROL_CLASSES = frozenset(
    {"TButton", "Button", "TEntry", "Entry", "TCombobox", "Treeview", "Text", "Listbox",
     "TCheckbutton", "TRadiobutton", "TSpinbox", "TScale", "TNotebook", "TMenubutton"}
)  # fmt: skip
_TEXT_CLASSES = frozenset({"TButton", "Button", "TCheckbutton", "TRadiobutton", "TMenubutton"})


def name(widget: W, text: str) -> W:
    """Tk thread only. Give `widget` the accessible name `text`; returns the widget."""
    widget.tk.call("set", f"{_ARRAY}({widget})", text)
    return widget


def name_of(widget: tk.Misc) -> str:
    """Tk thread only. The accessible name of `widget`: the one given, else a button's
    text, else ""."""
    key = f"{_ARRAY}({widget})"
    if widget.tk.call("info", "exists", key):
        return str(widget.tk.call("set", key))
    if widget.winfo_class() in _TEXT_CLASSES:
        return str(widget.cget("text"))
    return ""


def controls(root: tk.Misc) -> Iterator[tk.Misc]:
    """Tk thread only. Every control under `root` (itself included), depth first."""
    if root.winfo_class() in CONTROL_CLASSES:
        yield root
    for child in root.winfo_children():
        yield from controls(child)


def find(root: tk.Misc, text: str) -> tk.Misc:
    """Tk thread only. The control under `root` whose accessible name is `text`.

    Raises:
        LookupError: none, or more than one, has that name (the message lists the names).
    """
    found = [w for w in controls(root) if name_of(w) == text]
    if len(found) != 1:
        names = sorted({name_of(w) for w in controls(root)})
        raise LookupError(f"{len(found)} controls named {text!r}; the names are {names}")
    return found[0]


def unnamed_controls(root: tk.Misc) -> list[str]:
    """Tk thread only. The controls under `root` with no accessible name (path, class)."""
    return [f"{w} ({w.winfo_class()})" for w in controls(root) if not name_of(w).strip()]
