"""Tags: server-time format, msgid generation, client-only filtering, tag forms."""

from __future__ import annotations

import pytest

from lanchat.errors import MalformedLine
from lanchat.protocol.tags import (
    TagForm,
    client_only_tags,
    format_server_time,
    msgid_factory,
    parse_server_time,
    tag_form,
    tags_for_form,
)


def test_server_time_has_millisecond_utc_format() -> None:
    assert format_server_time(1_764_093_600.123) == "2025-11-25T18:00:00.123Z"


def test_server_time_parses_back_to_milliseconds() -> None:
    assert parse_server_time("2025-11-25T18:00:00.123Z") == 1_764_093_600_123
    assert parse_server_time("2025-11-25T18:00:00Z") == 1_764_093_600_000
    assert parse_server_time("2025-11-25T19:00:00+01:00") == 1_764_093_600_000
    assert parse_server_time("2025-11-25T18:00:00") == 1_764_093_600_000


@pytest.mark.parametrize("bad", ["", "yesterday", "2025-13-01T00:00:00Z", "1764093600"])
def test_bad_timestamps_raise_malformed_line(bad: str) -> None:
    with pytest.raises(MalformedLine):
        parse_server_time(bad)


def test_msgids_are_unique_and_sort_by_time() -> None:
    now = [1000.0]
    new = msgid_factory(lambda: now[0])
    first = [new() for _ in range(100)]
    now[0] += 0.001
    later = new()
    assert len(set(first)) == 100
    assert sorted(first) == first
    assert later > first[-1]


def test_msgid_counter_keeps_sorting_past_each_digit_pair() -> None:
    """Within one millisecond the order comes from the counter, built from digit pairs."""
    new = msgid_factory(lambda: 1_764_093_600.0)
    ids = [new() for _ in range(1100)]  # past 1024 = 32**2, where the middle pair starts
    assert sorted(ids) == ids
    assert len(set(ids)) == len(ids)
    assert {len(i) for i in ids} == {11 + 8 + 6}
    assert ids[0].startswith("001jau2o880")  # 1,764,093,600,000 ms in base 32
    assert ids[0].endswith("000000")
    assert ids[1023].endswith("0000vv")
    assert ids[1024].endswith("000100")


def test_two_factories_never_collide() -> None:
    a, b = msgid_factory(lambda: 5.0), msgid_factory(lambda: 5.0)
    assert a() != b()


def test_only_client_only_tags_are_relayed() -> None:
    tags = {"+typing": "active", "time": "x", "label": "y", "+draft/react": "👍"}
    assert client_only_tags(tags) == {"+typing": "active", "+draft/react": "👍"}


@pytest.mark.parametrize(
    ("caps", "form"),
    [
        (set(), TagForm.NONE),
        ({"server-time"}, TagForm.TIME),
        ({"message-tags"}, TagForm.FULL_NO_TIME),
        ({"message-tags", "server-time"}, TagForm.FULL),
        (["server-time"], TagForm.TIME),
    ],
)
def test_tag_form_follows_caps(caps: set[str], form: TagForm) -> None:
    assert tag_form(caps) is form


def test_each_form_carries_its_tags() -> None:
    kw = {"time_tag": "T", "msgid": "M", "client_tags": {"+x": "1"}}
    assert tags_for_form(TagForm.NONE, **kw) == {}  # type: ignore[arg-type]
    assert tags_for_form(TagForm.TIME, **kw) == {"time": "T"}  # type: ignore[arg-type]
    assert tags_for_form(TagForm.FULL, **kw) == {"time": "T", "msgid": "M", "+x": "1"}  # type: ignore[arg-type]
    assert tags_for_form(TagForm.FULL_NO_TIME, **kw) == {"msgid": "M", "+x": "1"}  # type: ignore[arg-type]
