"""Previews of shared images (issue 21): what the network thread hands the window."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from lanchat.client.thumbnails import MAX_IMAGE_PIXELS, NotAnImage, shrink


def _encoded(image: Image.Image, kind: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def test_a_preview_fits_the_box_keeps_its_proportions_and_is_a_png() -> None:
    wide = _encoded(Image.new("RGB", (1000, 100), "teal"), "JPEG")
    png, width, height = shrink(wide)
    assert (width, height) == (240, 24)
    with Image.open(io.BytesIO(png)) as preview:
        assert preview.format == "PNG" and preview.size == (240, 24)
    small = _encoded(Image.new("P", (40, 30)), "GIF")
    assert shrink(small)[1:] == (40, 30)  # never enlarged


def test_a_phone_photo_is_turned_upright_by_its_exif_orientation() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to show"
    photo = _encoded(Image.new("RGB", (400, 300), "white"), "JPEG", exif=exif.tobytes())
    assert shrink(photo)[1:] == (135, 180)


def test_what_is_not_an_image_or_is_too_big_to_decode_gets_no_preview() -> None:
    with pytest.raises(NotAnImage):
        shrink(b"<html>not an image</html>")
    side = int(MAX_IMAGE_PIXELS**0.5) + 1
    with pytest.raises(NotAnImage, match=f"{side}x{side} pixels"):
        shrink(_encoded(Image.new("1", (side, side)), "PNG"))
