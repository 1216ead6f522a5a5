"""The look of lanchat's windows: Sun Valley (sv-ttk) in light and dark, its fonts, and colour
emoji.

Layer: GUI (Tk main thread only); imports tkinter, sv_ttk (optional) and lanchat.gui.lines
(nick palettes).

Sun Valley (https://github.com/rdbende/Sun-Valley-ttk-theme) is a well-kept ttk theme drawn
from images, so buttons, entries, tabs and lists look like a current desktop app on Linux,
Windows and macOS alike. Without the package the windows fall back to ttk's "clam", recoloured
with the same palette, which draws every element itself. Our own styles (Muted.TLabel,
Notice.TFrame, ...) are set on top of either. Classic Tk widgets (the transcript's Text) do
not follow ttk styles; `Palette` carries their colours and the widgets read them from here.
"""

from __future__ import annotations

import tkinter as tk
import tkinter.font as tkfont
from dataclasses import dataclass
from tkinter import ttk
from typing import Any, Literal

from lanchat.gui.lines import NICK_PALETTES

__all__ = ["PALETTES", "Palette", "apply_theme", "emoji_font", "theme_engine", "transcript_font"]


@dataclass(frozen=True, slots=True)
class Palette:
    """The colours of one theme."""

    name: str  # "light" or "dark"
    bg: str  # window background
    surface: str  # entries, lists, the transcript
    fg: str  # text
    muted: str  # time stamps, notices, secondary text
    border: str  # frames and separators
    accent: str  # buttons in focus, selected tab, links
    accent_fg: str  # text on the accent colour
    select_bg: str  # selected rows and text
    highlight_bg: str  # background of a line that mentions us
    error: str  # error notices
    own: str  # "You" in our own lines: the text colour, bold, unlike any nick colour
    field: str  # inside an entry box (Sun Valley draws it a shade off the surface)

    @property
    def nicks(self) -> tuple[str, ...]:
        return NICK_PALETTES[self.name]


PALETTES: dict[str, Palette] = {
    "light": Palette(
        name="light",
        bg="#fafafa",
        surface="#ffffff",
        fg="#1f2328",
        muted="#656d76",
        border="#d0d7de",
        accent="#0b57d0",
        accent_fg="#ffffff",
        select_bg="#cfe0fc",
        highlight_bg="#fff4c2",
        error="#b3261e",
        own="#1f2328",
        field="#fdfdfd",
    ),
    "dark": Palette(
        name="dark",
        bg="#1c1c1c",
        surface="#232323",
        fg="#e6e6e6",
        muted="#a0a0a0",
        border="#3a3a3a",
        accent="#8ab4f8",
        accent_fg="#0d1117",
        select_bg="#2f4a75",
        highlight_bg="#4a3f12",
        error="#ff8a80",
        own="#e6e6e6",
        field="#292929",
    ),
}

# Fonts with wide Unicode coverage, in order of preference; the first one installed wins.
# Glyphs a font lacks (CJK, symbols) are drawn by Tk's font fallback (fontconfig on X11, the
# system on macOS and Windows).
_UI_FAMILIES = ("Segoe UI", "SF Pro Text", "Cantarell", "Noto Sans", "DejaVu Sans")
# Colour emoji fonts. Tk's fallback on X11 skips the colour bitmap fonts and picks a monochrome
# one (Symbola) when it can, so runs of emoji are drawn with this font by name (the "emoji"
# tag of lanchat.gui.lines); checked to render in colour under Tk 8.6 with Xft 2.3.6.
_EMOJI_FAMILIES = ("Noto Color Emoji", "Apple Color Emoji", "Segoe UI Emoji", "Twemoji")
_SV_FONTS: dict[str, tuple[int, Literal["normal", "bold"]]] = {
    # Sun Valley's named fonts (it asks for Segoe UI Variable): our family, these sizes
    "SunValleyCaptionFont": (9, "normal"),
    "SunValleyBodyFont": (10, "normal"),
    "SunValleyBodyStrongFont": (10, "bold"),
    "SunValleyBodyLargeFont": (13, "normal"),
    "SunValleySubtitleFont": (14, "bold"),
    "SunValleyTitleFont": (18, "bold"),
    "SunValleyTitleLargeFont": (24, "bold"),
    "SunValleyDisplayFont": (36, "bold"),
}


def _pick_family(root: tk.Misc, wanted: tuple[str, ...], fallback: str) -> str:
    have = set(tkfont.families(root))
    return next((f for f in wanted if f in have), fallback)


def transcript_font(root: tk.Misc) -> tkfont.Font:
    """The named font of chat transcripts ("LanchatText"), created on first use."""
    try:
        return tkfont.nametofont("LanchatText", root=root)
    except tk.TclError:
        base = tkfont.nametofont("TkDefaultFont", root=root).actual()
        return tkfont.Font(root=root, name="LanchatText", family=base["family"], size=11)


def emoji_font(root: tk.Misc) -> tkfont.Font | None:
    """The named colour emoji font ("LanchatEmoji"), or None when no colour emoji font is
    installed (then Tk's own fallback draws emoji as it can)."""
    try:
        return tkfont.nametofont("LanchatEmoji", root=root)
    except tk.TclError:
        family = _pick_family(root, _EMOJI_FAMILIES, "")
        if not family:
            return None
        return tkfont.Font(root=root, name="LanchatEmoji", family=family, size=10)


def theme_engine(root: tk.Misc) -> str:
    """ "sun-valley" when sv-ttk draws the widgets, else "clam"."""
    return "sun-valley" if ttk.Style(root).theme_use().startswith("sun-valley") else "clam"


def _sun_valley(root: tk.Tk, name: str, family: str) -> bool:
    """Switch to Sun Valley `name`; False when sv-ttk is not installed or does not load."""
    try:
        import sv_ttk
    except ImportError:
        return False
    try:
        sv_ttk.set_theme(name, root)
    except (tk.TclError, RuntimeError):
        return False
    # sv-ttk's tk_setPalette puts its colours in the option database and recolours the
    # widgets from it at the theme change: ttk labels got them as options of their own, over
    # their style (a Muted.TLabel was drawn in the body colour). A blank value (Tk skips "")
    # matches first and leaves a label's colours to its style.
    for option in ("*TLabel.foreground", "*TLabel.background"):
        root.option_add(option, " ")
    for font_name, (size, weight) in _SV_FONTS.items():
        tkfont.nametofont(font_name, root=root).configure(family=family, size=size, weight=weight)
    return True


def apply_theme(root: tk.Tk, name: str, *, sun_valley: bool = True) -> Palette:
    """Tk thread only. Restyle every ttk widget of `root` with theme `name`.

    Args:
        root: the application's root window.
        name: "light" or "dark" (anything else means light).
        sun_valley: use Sun Valley when it is installed (False: the clam fallback).

    Returns:
        The palette, for the classic Tk widgets to colour themselves.
    """
    pal = PALETTES.get(name, PALETTES["light"])
    default = tkfont.nametofont("TkDefaultFont", root=root)
    family = _pick_family(root, _UI_FAMILIES, default.actual()["family"])
    default.configure(family=family, size=10)
    tkfont.nametofont("TkTextFont", root=root).configure(family=family, size=10)
    tkfont.nametofont("TkHeadingFont", root=root).configure(family=family, size=10, weight="bold")
    transcript_font(root).configure(family=family, size=11)

    style = ttk.Style(root)
    if not (sun_valley and _sun_valley(root, pal.name, family)):
        _clam(style, pal)
    _our_styles(root, style, pal, family)
    return pal


def _list_colours(pal: Palette) -> dict[str, Any]:
    """The colours of a list (Treeview) on the surface, without a border."""
    return {
        "background": pal.surface,
        "fieldbackground": pal.surface,
        "foreground": pal.fg,
        "borderwidth": 0,
    }


def _clam(style: ttk.Style, pal: Palette) -> None:
    """ttk's "clam" recoloured with `pal` (when Sun Valley is not there)."""
    style.theme_use("clam")
    style.configure(
        ".",
        background=pal.bg,
        foreground=pal.fg,
        fieldbackground=pal.surface,
        bordercolor=pal.border,
        lightcolor=pal.bg,
        darkcolor=pal.bg,
        troughcolor=pal.bg,
        focuscolor=pal.accent,
        selectbackground=pal.select_bg,
        selectforeground=pal.fg,
        insertcolor=pal.fg,
        arrowcolor=pal.fg,
        font="TkDefaultFont",
    )
    # clam maps "disabled" and "active" backgrounds to its own light greys; a fully visible
    # transcript disables its scrollbar, which then showed as a light bar in the dark theme.
    style.map(
        ".",
        foreground=[("disabled", pal.muted)],
        background=[("disabled", pal.bg), ("active", pal.select_bg)],
    )
    style.configure("TButton", padding=(12, 5), background=pal.surface, relief="flat")
    style.map(
        "TButton",
        background=[("pressed", pal.select_bg), ("active", pal.select_bg)],
        bordercolor=[("focus", pal.accent)],
    )
    style.configure(
        "Accent.TButton", background=pal.accent, foreground=pal.accent_fg, bordercolor=pal.accent
    )
    style.map(
        "Accent.TButton",
        background=[("pressed", pal.fg), ("active", pal.fg)],
        foreground=[("active", pal.bg), ("disabled", pal.muted)],
    )
    style.configure("TEntry", padding=(6, 4), insertcolor=pal.fg)
    style.map("TEntry", bordercolor=[("focus", pal.accent)], lightcolor=[("focus", pal.accent)])
    style.configure("TCombobox", padding=(6, 4), arrowcolor=pal.fg)
    style.map(
        "TCombobox",
        fieldbackground=[("readonly", pal.surface)],
        bordercolor=[("focus", pal.accent)],
    )
    style.configure("TNotebook", background=pal.bg, borderwidth=0, tabmargins=(6, 6, 6, 0))
    style.configure(
        "TNotebook.Tab", background=pal.bg, foreground=pal.muted, padding=(14, 6), borderwidth=0
    )
    style.map(
        "TNotebook.Tab",
        background=[("selected", pal.surface)],
        foreground=[("selected", pal.fg)],
        lightcolor=[("selected", pal.accent)],
    )
    style.configure("Treeview", **_list_colours(pal), rowheight=26)
    style.map(
        "Treeview",
        background=[("selected", pal.select_bg)],
        foreground=[("selected", pal.fg)],
    )
    style.configure(
        "Treeview.Heading", background=pal.bg, foreground=pal.muted, relief="flat", padding=4
    )
    style.map("Treeview.Heading", background=[("active", pal.border)])
    style.configure(
        "TScrollbar",
        background=pal.border,  # the thumb
        troughcolor=pal.bg,
        bordercolor=pal.bg,
        lightcolor=pal.border,
        darkcolor=pal.border,
        arrowcolor=pal.muted,
        gripcount=0,
    )
    style.map(
        "TScrollbar",
        background=[("disabled", pal.bg), ("pressed", pal.muted), ("active", pal.muted)],
        lightcolor=[("disabled", pal.bg)],
        darkcolor=[("disabled", pal.bg)],
    )
    style.configure("TSeparator", background=pal.border)
    style.configure("TLabel", background=pal.bg, foreground=pal.fg)
    style.configure("Card.TFrame", background=pal.surface)
    style.configure("TEntry", fieldbackground=pal.field)


def _our_styles(root: tk.Tk, style: ttk.Style, pal: Palette, family: str) -> None:
    """The styles lanchat's widgets name, on top of either theme."""
    style.configure("Muted.TLabel", foreground=pal.muted)
    style.configure("Error.TLabel", foreground=pal.error)
    style.configure("Title.TLabel", font=(family, 15, "bold"))
    style.configure("Subtitle.TLabel", font=(family, 11, "bold"))
    style.configure("Topic.TLabel", background=pal.surface, padding=(12, 8), font=(family, 10))
    style.configure("Status.TLabel", foreground=pal.muted, padding=(8, 3))
    style.configure("Count.TLabel", foreground=pal.muted, background=pal.surface)
    style.configure("Chat.TFrame", background=pal.surface)
    style.configure("Empty.TLabel", foreground=pal.muted, background=pal.surface, font=(family, 11))
    style.configure("Placeholder.TLabel", foreground=pal.muted, background=pal.field)
    style.configure(
        "Tooltip.TLabel",
        background=pal.fg,
        foreground=pal.surface,
        padding=(8, 4),
        font=(family, 9),
    )
    style.configure("Notice.TFrame", background=pal.highlight_bg)
    style.configure("Notice.TLabel", background=pal.highlight_bg, foreground=pal.fg)
    # a button that reads as a link: the label alone, no frame
    style.layout(
        "Link.TButton",
        [
            (
                "Button.padding",
                {"sticky": "nswe", "children": [("Button.label", {"sticky": "nswe"})]},
            )
        ],
    )
    style.configure(
        "Link.TButton",
        background=pal.highlight_bg,
        foreground=pal.accent,
        padding=(4, 0),
        font=(family, 10, "underline"),
    )
    style.map("Link.TButton", foreground=[("active", pal.fg)])
    style.configure("Members.Treeview", **_list_colours(pal), rowheight=24)
    # no field frame: the list lies flat on the chat's surface, as the transcript does
    style.layout(
        "Members.Treeview",
        [("Treeview.padding", {"sticky": "nswe", "children": [
            ("Treeview.treearea", {"sticky": "nswe"}),
        ]})],
    )  # fmt: skip
    # a flat list: the item without the room kept for a tree's open/close indicator
    style.layout(
        "Members.Treeview.Item",
        [("Treeitem.padding", {"sticky": "nswe", "children": [
            ("Treeitem.image", {"side": "left", "sticky": ""}),
            ("Treeitem.text", {"side": "left", "sticky": ""}),
        ]})],
    )  # fmt: skip
    style.configure("Members.Treeview.Item", padding=(12, 0, 0, 0))
    root.configure(background=pal.bg)
    root.option_add("*TCombobox*Listbox.background", pal.surface)
    root.option_add("*TCombobox*Listbox.foreground", pal.fg)
