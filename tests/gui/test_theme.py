"""The colours of the themes (lanchat.gui.theme, lanchat.gui.lines): readable and told apart.

No Tk: the palettes are plain values. Colour difference is CIE76 (Euclidean distance in
CIELAB); 20 is about where two small bold words stop looking like the same colour.
"""

from __future__ import annotations

import itertools
import math

import pytest

from lanchat.gui.lines import NICK_PALETTES
from lanchat.gui.theme import PALETTES

MIN_CONTRAST = 4.5  # WCAG AA for text
MIN_DISTANCE = 20.0  # between two nick colours
MIN_DISTANCE_FROM_MEANING = 25.0  # from the error red and our own name's colour


def _linear(c: int) -> float:
    v = c / 255
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def _rgb(colour: str) -> list[float]:
    return [_linear(int(colour[i : i + 2], 16)) for i in (1, 3, 5)]


def luminance(colour: str) -> float:
    r, g, b = _rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def lab(colour: str) -> tuple[float, float, float]:
    r, g, b = _rgb(colour)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def distance(a: str, b: str) -> float:
    return math.dist(lab(a), lab(b))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_nick_colours_are_readable_and_told_apart(theme: str) -> None:
    pal = PALETTES[theme]
    nicks = NICK_PALETTES[theme]
    for colour in nicks:
        assert contrast(colour, pal.surface) >= MIN_CONTRAST, colour
        assert distance(colour, pal.error) >= MIN_DISTANCE_FROM_MEANING, (colour, "error")
        assert distance(colour, pal.own) >= MIN_DISTANCE_FROM_MEANING, (colour, "own")
        assert distance(colour, pal.accent) >= MIN_DISTANCE, (colour, "links")
    for a, b in itertools.combinations(nicks, 2):
        assert distance(a, b) >= MIN_DISTANCE, (a, b)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_text_colours_are_readable(theme: str) -> None:
    pal = PALETTES[theme]
    for colour in (pal.fg, pal.error, pal.own, pal.accent, pal.muted):
        assert contrast(colour, pal.surface) >= MIN_CONTRAST, colour
