"""Transcript tests of what the session knows of rooms and people (lanchat.client.state): JOIN,
NAMES, PART, KICK, QUIT, NICK, MODE, TOPIC, AWAY and WHO, fed through the client session.
"""

from __future__ import annotations

from lanchat.client.events import (
    AwayChanged,
    Joined,
    Kicked,
    Member,
    MembersChanged,
    NickChanged,
    Parted,
    ServerNotice,
    TopicChanged,
    UserQuit,
)
from tests.client.transcript import ALICE, BOB, CAROL, feed, joined, of_type, registered, sent

# ---------------------------------------------------------------- rooms and members


def test_join_names_and_topic_give_members_with_prefixes_and_ips() -> None:
    s = registered()
    events = feed(
        s,
        f":{ALICE} JOIN #lobby",
        ":srv 332 alice #lobby :Friday lunch",
        ":srv 333 alice #lobby bob!bob@192.168.1.20 1700000000",
        ":srv 353 alice = #lobby :@+bob!bob@192.168.1.20 alice!alice@192.168.1.10",
        ":srv 353 alice = #lobby :+carol!carol@192.168.1.30",
        ":srv 366 alice #lobby :End of NAMES",
    )
    assert events == [
        Joined("lan", "#lobby", "alice", "192.168.1.10", own=True),
        TopicChanged("lan", "#lobby", "Friday lunch", "bob", 1_700_000_000_000),
        MembersChanged(
            "lan",
            "#lobby",
            (
                Member("bob", "@+", "192.168.1.20", False),
                Member("carol", "+", "192.168.1.30", False),
                Member("alice", "", "192.168.1.10", False),
            ),
        ),
    ]


def test_someone_joining_is_added_with_their_ip() -> None:
    s = joined()
    events = feed(s, f":{BOB} JOIN #lobby")
    assert events[0] == Joined("lan", "#lobby", "bob", "192.168.1.20", own=False)
    assert of_type(events, MembersChanged)[0].members[-1] == Member(
        "bob", "", "192.168.1.20", False
    )


def test_part_removes_member() -> None:
    s = joined(names="@alice bob")
    events = feed(s, f":{BOB} PART #lobby :lunch")
    assert events == [
        Parted("lan", "#lobby", "bob", "lunch", own=False),
        MembersChanged("lan", "#lobby", (Member("alice", "@", "192.168.1.10", False),)),
    ]


def test_kick_of_someone_else_and_of_us() -> None:
    s = joined(names="@alice bob")
    events = feed(s, f":{ALICE} KICK #lobby bob :spam")
    assert events[0] == Kicked("lan", "#lobby", "bob", "alice", "spam", own=False)
    events = feed(s, f":{CAROL} KICK #lobby alice :bye")
    assert events == [Kicked("lan", "#lobby", "alice", "carol", "bye", own=True)]
    assert "#lobby" not in s.wanted_rooms


def test_quit_lists_shared_rooms_and_updates_members() -> None:
    s = joined(names="alice bob")
    feed(s, f":{ALICE} JOIN #dev", ":srv 353 alice = #dev :alice bob", ":srv 366 alice #dev :End")
    events = feed(s, f":{BOB} QUIT :Quit: gone home")
    assert events[0] == UserQuit("lan", "bob", "Quit: gone home", ("#lobby", "#dev"))
    assert [e.room for e in of_type(events, MembersChanged)] == ["#lobby", "#dev"]
    assert all(len(e.members) == 1 for e in of_type(events, MembersChanged))


def test_nick_change_is_tracked_for_others_and_ourselves() -> None:
    s = joined(names="alice bob")
    events = feed(s, f":{BOB} NICK robert")
    assert events[0] == NickChanged("lan", "bob", "robert", own=False)
    assert [m.nick for m in of_type(events, MembersChanged)[0].members] == ["alice", "robert"]
    events = feed(s, f":{ALICE} NICK alicia")
    assert events[0] == NickChanged("lan", "alice", "alicia", own=True)
    assert s.nick == "alicia"


def test_nick_case_change_keeps_the_member() -> None:
    s = joined(names="alice bob")
    events = feed(s, f":{BOB} NICK Bob")
    assert [m.nick for m in of_type(events, MembersChanged)[0].members] == ["alice", "Bob"]


def test_mode_op_and_voice_change_prefixes() -> None:
    s = joined(names="alice bob carol")
    events = feed(s, f":{ALICE} MODE #lobby +o-v+lv bob carol 10 carol")
    members = of_type(events, MembersChanged)[0].members
    assert [(m.nick, m.prefixes) for m in members] == [("bob", "@"), ("carol", "+"), ("alice", "")]
    events = feed(s, f":{ALICE} MODE #lobby -o+k bob secret")
    members = of_type(events, MembersChanged)[0].members
    assert [(m.nick, m.prefixes) for m in members] == [("carol", "+"), ("alice", ""), ("bob", "")]


def test_mode_without_prefix_changes_emits_nothing() -> None:
    s = joined()
    assert feed(s, f":{ALICE} MODE #lobby +nt") == []


def test_topic_change_has_setter_and_server_time() -> None:
    s = joined()
    events = feed(s, f"@time=2023-11-14T22:13:20.500Z :{BOB} TOPIC #lobby :New topic")
    assert events == [
        TopicChanged("lan", "#lobby", "New topic", "bob", 1_700_000_000_500, live=True)
    ]


# ---------------------------------------------------------------- away


def test_away_notify_marks_member_away_and_back() -> None:
    s = joined(names="alice bob")
    events = feed(s, f":{BOB} AWAY :lunch")
    assert events[0] == AwayChanged("lan", "bob", True, "lunch", own=False)
    assert of_type(events, MembersChanged)[0].members[1].away
    events = feed(s, f":{BOB} AWAY")
    assert events[0] == AwayChanged("lan", "bob", False, "", own=False)
    assert not of_type(events, MembersChanged)[0].members[1].away


def test_own_away_replies() -> None:
    s = joined()
    s.set_away("brb")
    assert sent(s) == ["AWAY brb"]
    events = feed(s, ":srv 306 alice :You have been marked as being away")
    assert events[0] == AwayChanged(
        "lan", "alice", True, "You have been marked as being away", own=True
    )
    s.set_away("")
    assert sent(s) == ["AWAY"]


def test_who_on_join_tells_who_is_away_already() -> None:
    s = registered()
    feed(s, f":{ALICE} JOIN #lobby")
    assert sent(s)[-1] == "WHO #lobby"
    events = feed(
        s,
        ":srv 353 alice = #lobby :alice bob",
        ":srv 366 alice #lobby :End of NAMES",
        ":srv 352 alice #lobby bob 192.168.1.20 srv bob G :0 Bob",
        ":srv 352 alice #lobby alice 192.168.1.10 srv alice H :0 Alice",
        ":srv 315 alice #lobby :End of WHO list",
    )
    assert of_type(events, MembersChanged)[-1].members == (
        Member("alice", "", "192.168.1.10", False),
        Member("bob", "", "192.168.1.20", True),
    )


def test_who_asked_by_the_person_is_shown() -> None:
    s = joined()
    sent(s)
    assert feed(s, ":srv 352 alice * bob 192.168.1.20 srv bob H :0 Bob") == [
        ServerNotice("lan", "* bob 192.168.1.20 srv bob H 0 Bob")
    ]
