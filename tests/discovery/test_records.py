"""records.py: RoomAd <-> DNS-SD instance name and TXT record (RFC 6763 4.1.1 and 6).

Pure functions, plus python-zeroconf's own name validation and TXT encoding as the judge of
what goes on the wire.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zeroconf import ServiceInfo, service_type_name

from lanchat.discovery.records import (
    INSTANCE_MAX_BYTES,
    SERVICE_TYPE,
    TXT_VALUE_MAX_BYTES,
    RoomAd,
    cluster_id,
    fingerprint_of,
    from_txt,
    instance_name,
    printable,
    to_txt,
    truncate_utf8,
)


def through_the_wire(ad: RoomAd) -> dict[bytes, bytes | None]:
    """The TXT record as a browser decodes it after python-zeroconf encoded it."""
    sent = ServiceInfo(SERVICE_TYPE, f"x.{SERVICE_TYPE}", port=ad.port, properties=to_txt(ad))
    received = ServiceInfo(SERVICE_TYPE, f"x.{SERVICE_TYPE}", properties=sent.text)
    return received.properties


def test_instance_name_is_room_on_host() -> None:
    assert instance_name("#lobby", "alice-laptop") == "#lobby on alice-laptop"


def test_instance_name_replaces_dots_and_drops_control_characters() -> None:
    name = instance_name("#v1.2", "alice\x07.lan")
    assert "." not in name
    assert name == "#v1\u20242 on alice\u2024lan"


def test_long_multibyte_instance_name_is_cut_at_a_character_boundary_keeping_both_parts() -> None:
    name = instance_name("#" + "é" * 40, "ホスト" * 10)
    assert len(name.encode("utf-8")) <= INSTANCE_MAX_BYTES - 4
    room_part, host_part = name.split(" on ")
    assert room_part.startswith("#éééé") and room_part.endswith("…")
    assert host_part.startswith("ホスト") and host_part.endswith("…")


@given(st.text(min_size=1), st.text())
def test_every_instance_name_is_valid_even_after_a_conflict_rename(room: str, host: str) -> None:
    name = instance_name(room, host)
    assert len(name.encode("utf-8")) <= INSTANCE_MAX_BYTES - 4
    assert not any(c < " " or c in ".\x7f" for c in name)
    renamed = f"{name}-99"  # what a probe conflict makes of it (RFC 6762 9)
    assert len(renamed.encode("utf-8")) <= INSTANCE_MAX_BYTES
    service_type_name(f"{renamed}.{SERVICE_TYPE}")


def test_truncate_utf8_never_splits_a_character() -> None:
    assert truncate_utf8("aé", 2) == "a"
    assert truncate_utf8("aé", 3) == "aé"
    assert truncate_utf8("€€€", 7, "…") == "€…"
    assert truncate_utf8("abcdef", 2, "…") == "ab"  # the marker alone does not fit


def test_txt_round_trips_through_zeroconf_encoding() -> None:
    ad = RoomAd(
        room="#lobby", host="alice-laptop", port=6667, users=3, topic="hi", key_required=True
    )
    got = from_txt(
        "#lobby on alice-laptop", through_the_wire(ad), port=6667, addresses=("10.0.0.5",)
    )
    assert got == RoomAd(
        room="#lobby",
        host="alice-laptop",
        port=6667,
        users=3,
        topic="hi",
        key_required=True,
        addresses=("10.0.0.5",),
        instance="#lobby on alice-laptop",
        version="1",
    )


FP = fingerprint_of(b"a certificate")


def test_tls_port_and_fingerprint_round_trip_and_fit_one_txt_string() -> None:
    ad = RoomAd(room="#lobby", host="alice-laptop", port=6667, tls=6697, fp=FP)
    txt = to_txt(ad)
    assert (txt["tls"], txt["fp"]) == ("6697", FP)
    assert len(f"fp={FP}".encode()) == 67 <= TXT_VALUE_MAX_BYTES
    got = from_txt("#lobby on alice-laptop", through_the_wire(ad), port=6667)
    assert (got.tls, got.fp) == (6697, FP)


def test_room_without_tls_advertises_neither_key() -> None:
    assert not {"tls", "fp"} & set(to_txt(RoomAd(room="#a", host="h", port=1)))


def test_cluster_id_rides_in_the_txt_key_cluster_and_is_absent_without_one() -> None:
    ad = RoomAd(room="#lobby", host="node-a", port=6667, cluster="c0ffee42-Ab_9")
    assert to_txt(ad)["cluster"] == "c0ffee42-Ab_9"
    got = from_txt("#lobby on node-a", through_the_wire(ad), port=6667)
    assert got is not None and got.cluster == "c0ffee42-Ab_9"
    assert "cluster" not in to_txt(RoomAd(room="#a", host="h", port=1))
    assert from_txt("#a on h", {b"room": b"#a"}, port=1).cluster is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "value", [b"", b"  ", b"two words", b"id\x1b[2J", b"\xff\xfe", b"x" * 65, b"caf\xc3\xa9", None]
)
def test_cluster_id_that_is_no_short_plain_id_reads_as_no_cluster(value: bytes | None) -> None:
    # A room with a garbled cluster id is listed on its own, never merged with another.
    got = from_txt("#a on h", {b"cluster": value}, port=1)
    assert got is not None and got.cluster is None


def test_fingerprint_is_sha256_in_lowercase_hex() -> None:
    # The FIPS 180-2 test vector.
    sha256_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert fingerprint_of(b"abc") == sha256_abc


def test_garbage_tls_values_read_as_no_tls_or_no_fingerprint() -> None:
    for tls, fp in [(b"66\xd9\xa3", FP.encode()), (b"70000", FP.encode()), (b"-1", b"")]:
        got = from_txt("#a on b", {b"tls": tls, b"fp": fp}, port=1)
        assert (got.tls, got.fp) == (0, "")
    # A TLS port with a fingerprint that is not one: the port is kept, the client asks.
    got = from_txt("#a on b", {b"tls": b"6697", b"fp": b"zz" * 32}, port=1)
    assert (got.tls, got.fp) == (6697, "")
    got = from_txt("#a on b", {b"tls": b"6697", b"fp": FP.upper().encode()}, port=1)
    assert got.fp == FP


@given(st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=400))
def test_topic_is_cut_to_fit_one_255_byte_txt_string(topic: str) -> None:
    ad = RoomAd(room="#x", host="h", port=1, topic=topic)
    for key, value in to_txt(ad).items():
        assert len(f"{key}={value}".encode()) <= 255
    got = from_txt("#x on h", through_the_wire(ad), port=1)
    assert got is not None
    assert got.topic == printable(truncate_utf8(topic, 255 - len("topic=")))


def test_garbage_txt_values_fall_back_to_defaults() -> None:
    txt = {
        b"users": b"lots",
        b"key": b"maybe",
        b"topic": b"\xff\xfeoops",
        b"v": b"",
        b"extra": b"ignored",
        b"room": None,
    }
    got = from_txt("#lobby on bob", txt, port=6667)
    assert (got.room, got.host, got.users, got.key_required) == ("#lobby", "bob", 0, False)
    assert got.topic == "\ufffd\ufffdoops"
    assert got.version == "1"


def test_web_port_rides_in_the_txt_key_web_and_is_absent_without_one() -> None:
    ad = RoomAd(room="#lobby", host="alice-laptop", port=6667, web_port=8080)
    assert to_txt(ad)["web"] == "8080"
    assert "web" not in to_txt(RoomAd(room="#lobby", host="alice-laptop", port=6667))
    got = from_txt("#lobby on alice-laptop", through_the_wire(ad), port=6667)
    assert got.web_port == 8080


@pytest.mark.parametrize("value", [b"", b"http", b"-1", b"0", b"70000", None])
def test_web_port_that_is_no_port_reads_as_none(value: bytes | None) -> None:
    assert from_txt("#a on b", {b"web": value}, port=1).web_port == 0


def test_negative_user_count_reads_as_zero_and_keys_are_case_insensitive() -> None:
    got = from_txt("#i on h", {b"USERS": b"-5", b"Key": b"1", b"key": b"0"}, port=1)
    assert got is not None
    assert (got.users, got.key_required) == (0, True)


def test_unknown_future_version_is_still_read() -> None:
    got = from_txt("#a on b", {b"v": b"7", b"room": b"#a", b"users": b"2"}, port=1)
    assert (got.version, got.room, got.users) == ("7", "#a", 2)


def test_instance_without_on_gives_the_whole_name_as_room() -> None:
    got = from_txt("#games", {}, port=1)
    assert got is not None
    assert (got.room, got.host) == ("#games", "")
    assert from_txt("someone's printer", {}, port=1) is None  # not a room name


# Issue 13, item 11: a room name goes into "JOIN <room>" as it is; anything that would change
# that line, or the look of the name, drops the advertisement.
@pytest.mark.parametrize(
    "room",
    ["#lobby\r\nQUIT :bye", "#lob by", ":#lobby", "#lobby,#other", "lobby", "#", "#a\x1b[2J",
     "#lobby\u202e", "#lobby\x85", "#" + "x" * 250],
)  # fmt: skip
def test_advertisement_with_a_room_name_nobody_could_join_is_dropped(room: str) -> None:
    txt = {b"room": room.encode(), b"host": b"vm"}
    assert from_txt("#lobby on vm", txt, port=6667, addresses=("10.0.0.5",)) is None


def test_control_characters_and_bidi_overrides_are_removed_from_topic_host_and_version() -> None:
    txt = {
        b"room": b"#lobby",
        b"topic": "pizza\x1b]0;owned\x07 at \u202e8pm\r\n\x9b1m".encode(),
        b"host": b"vm\r\n-2",
        b"v": b"1\x00\x1b[31m",
        b"users": "\u0663".encode(),  # ARABIC-INDIC DIGIT THREE: isdigit(), not a number here
    }
    got = from_txt("#lobby on vm", txt, port=6667)
    assert got is not None
    assert (got.topic, got.host, got.version, got.users) == (
        "pizza]0;owned at 8pm1m",
        "vm-2",
        "1[31m",
        0,
    )


def test_printable_keeps_every_other_character() -> None:
    assert printable("héllo 世界 🎉 \u200d tab\tend") == "héllo 世界 🎉 \u200d tabend"


@given(st.dictionaries(st.binary(max_size=12), st.none() | st.binary(max_size=300)), st.text())
def test_any_txt_record_parses_without_raising(txt: dict[bytes, bytes | None], inst: str) -> None:
    ad = from_txt(inst, txt, port=6667)
    if ad is not None:
        assert ad.users >= 0
        assert ad.instance == inst
        assert all(printable(text) == text for text in (ad.room, ad.host, ad.topic, ad.version))
        assert ad.cluster is None or cluster_id(ad.cluster) == ad.cluster
