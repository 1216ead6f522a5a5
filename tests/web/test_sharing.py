"""What a shared file looks like over HTTP, by plain calls (lanchat.web.sharing, issue 21)."""

from __future__ import annotations

import base64

import pytest

from lanchat.web.sharing import (
    DOWNLOAD_CSP,
    content_type_of,
    credentials,
    download_headers,
    human_size,
    upload_name,
)


@pytest.mark.parametrize(
    ("disposition", "name"),
    [
        ('attachment; filename="slides.pdf"', "slides.pdf"),
        ("attachment; filename*=UTF-8''%C3%A9t%C3%A9.png", "été.png"),
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ('attachment; filename="C:\\\\Users\\\\a\\\\x.txt"', "x.txt"),
        ('attachment; filename=".."', "file"),
        ('attachment; filename="a\x1b[31mb"', "a[31mb"),
        (None, "file"),
        ("attachment", "file"),
        ('attachment; filename="' + "n" * 300 + '"', "n" * 200),
    ],
)
def test_upload_names_are_made_harmless(disposition: str | None, name: str) -> None:
    assert upload_name(disposition) == name


def test_content_types_are_types_or_octet_stream() -> None:
    assert content_type_of("Image/PNG; charset=x") == "image/png"
    for bad in (None, "", "text", "text/html\r\nX: y", "a/b/c"):
        assert content_type_of(bad) == "application/octet-stream"


def test_only_the_allow_list_is_inline_and_nothing_is_active() -> None:
    for kind in ("image/png", "image/jpeg", "audio/ogg", "video/mp4", "application/pdf"):
        assert download_headers("x", kind)["Content-Disposition"].startswith("inline;")
    for kind in ("image/svg+xml", "text/html", "text/plain", "application/xhtml+xml"):
        headers = download_headers("x", kind)
        assert headers["Content-Disposition"].startswith("attachment;")
    headers = download_headers('a"b\\c%d é.html', "text/html")
    assert headers["Content-Security-Policy"] == DOWNLOAD_CSP == "sandbox; default-src 'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"] == (
        "attachment; filename=\"a_b_c_d _.html\"; filename*=UTF-8''a%22b%5Cc%25d%20%C3%A9.html"
    )


def test_credentials_bearer_and_basic() -> None:
    assert credentials("Bearer abc").token == "abc"  # type: ignore[union-attr]
    basic = credentials("Basic " + base64.b64encode(b"alice:pa:ss").decode())
    assert basic is not None and (basic.account, basic.password) == ("alice", "pa:ss")
    for bad in (None, "", "Bearer", "Basic !!!", "Basic " + base64.b64encode(b"x").decode(),
                "Digest abc"):  # fmt: skip
        assert credentials(bad) is None


def test_sizes_read_like_a_file_manager() -> None:
    assert [human_size(n) for n in (0, 999, 1000, 2_300_000, 5 << 30)] == [
        "0 bytes",
        "999 bytes",
        "1.0 kB",
        "2.3 MB",
        "5.4 GB",
    ]
