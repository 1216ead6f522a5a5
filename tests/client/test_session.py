"""Transcript tests of the sans-I/O client session: server lines in, events and client lines out.

No sockets: each test feeds what a server would send and checks the events and the lines the
session queued (ircstates' test shape).
"""

from __future__ import annotations

from typing import TypeVar

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lanchat.client.events import (
    AwayChanged,
    ClientEvent,
    HistoryLoaded,
    Joined,
    Kicked,
    Member,
    MembersChanged,
    MessageReceived,
    NickChanged,
    Parted,
    Registered,
    ServerError,
    ServerNotice,
    TopicChanged,
    UserQuit,
)
from lanchat.client.session import HISTORY_LIMIT, ClientSession, hint_for, split_text
from lanchat.errors import ProtocolError
from lanchat.protocol import Message, parse

T = TypeVar("T")
NOW_S = 1_700_000_000.0
ALICE = "alice!alice@192.168.1.10"
BOB = "bob!bob@192.168.1.20"
CAROL = "carol!carol@192.168.1.30"


def feed(session: ClientSession, *lines: str) -> list[ClientEvent]:
    """Feed server lines; return all the events they produced."""
    events: list[ClientEvent] = []
    for line in lines:
        events.extend(session.feed(parse(line)))
    return events


def sent(session: ClientSession) -> list[str]:
    """The lines the session queued since the last call."""
    return [m.to_line() for m in session.data_to_send()]


def of_type(events: list[ClientEvent], kind: type[T]) -> list[T]:
    return [e for e in events if isinstance(e, kind)]


def registered(
    nick: str = "alice",
    caps: str = "message-tags server-time echo-message batch multi-prefix userhost-in-names "
    "away-notify draft/chathistory",
) -> ClientSession:
    """A session that went through CAP negotiation and registration."""
    s = ClientSession(nick, server_id="lan", clock=lambda: NOW_S)
    s.start()
    sent(s)
    feed(s, f":srv CAP * LS :{caps}")
    sent(s)
    feed(
        s,
        f":srv CAP * ACK :{caps}",
        f":srv 001 {nick} :Welcome",
        f":srv 005 {nick} NETWORK=LanNet PREFIX=(ov)@+ CHANMODES=b,k,l,imnst :are supported",
        f":srv 376 {nick} :End of MOTD",
    )
    sent(s)
    return s


def joined(room: str = "#lobby", names: str = "@alice!alice@192.168.1.10") -> ClientSession:
    s = registered()
    feed(
        s,
        f":{ALICE} JOIN {room}",
        f":srv 353 alice = {room} :{names}",
        f":srv 366 alice {room} :End of NAMES",
    )
    sent(s)
    return s


# ---------------------------------------------------------------- registration


def test_start_sends_cap_ls_302_then_pass_nick_user() -> None:
    s = ClientSession("alice", password="sesame")
    s.start()
    assert sent(s) == [
        "CAP LS 302",
        "PASS sesame",
        "NICK alice",
        "USER alice 0 * :lanchat user",
    ]


def test_cap_negotiation_requests_only_wanted_caps_the_server_offers() -> None:
    s = ClientSession("alice")
    s.start()
    sent(s)
    feed(s, ":srv CAP * LS * :multi-prefix sasl=PLAIN server-time")
    assert sent(s) == []  # a multi-line LS is not finished yet
    feed(s, ":srv CAP * LS :echo-message draft/chathistory unknown-cap")
    assert sent(s) == ["CAP REQ :server-time echo-message multi-prefix draft/chathistory"]
    feed(s, ":srv CAP alice ACK :server-time echo-message multi-prefix draft/chathistory")
    assert sent(s) == ["CAP END"]
    assert s.caps == {"server-time", "echo-message", "multi-prefix", "draft/chathistory"}
    assert s.history_enabled


def test_cap_nak_still_ends_negotiation() -> None:
    s = ClientSession("alice")
    s.start()
    sent(s)
    feed(s, ":srv CAP * LS :batch", ":srv CAP * NAK :batch")
    assert sent(s)[-1] == "CAP END"
    assert s.caps == set()


def test_no_wanted_caps_ends_negotiation_at_once() -> None:
    s = ClientSession("alice")
    s.start()
    sent(s)
    feed(s, ":srv CAP * LS :sasl")
    assert sent(s) == ["CAP END"]


def test_registered_after_motd_with_network_and_server_name() -> None:
    s = ClientSession("alice", server_id="lan")
    s.start()
    events = feed(
        s,
        ":srv.lan 001 alice :Welcome",
        ":srv.lan 005 alice NETWORK=LanNet :are supported",
        ":srv.lan 422 alice :MOTD File is missing",
    )
    assert events == [Registered("lan", "alice", "LanNet", "srv.lan")]


def test_nick_in_use_during_registration_falls_back_to_underscores() -> None:
    s = ClientSession("alice")
    s.start()
    sent(s)
    assert feed(s, ":srv 433 * alice :Nickname is already in use") == []
    assert sent(s) == ["NICK alice_"]
    feed(s, ":srv 433 * alice_ :Nickname is already in use")
    assert sent(s) == ["NICK alice__"]
    events = feed(s, ":srv 001 alice__ :Welcome", ":srv 376 alice__ :End")
    assert of_type(events, Registered)[0].nick == "alice__"


def test_nick_in_use_after_registration_is_an_error_with_hint() -> None:
    s = registered()
    events = feed(s, ":srv 433 alice bob :Nickname is already in use")
    assert events == [
        ServerError(
            "lan", "433", "bob: Nickname is already in use", "That nickname is taken; pick another"
        )
    ]
    assert sent(s) == []


def test_ping_is_answered_with_pong() -> None:
    s = registered()
    feed(s, "PING :token123")
    assert sent(s) == ["PONG token123"]


def test_error_line_is_remembered_as_the_disconnect_reason() -> None:
    s = registered()
    feed(s, "ERROR :Closing Link: 10.0.0.1 (Server shutting down)")
    assert s.last_error == "Closing Link: 10.0.0.1 (Server shutting down)"


def test_wanted_rooms_are_joined_after_registration() -> None:
    s = ClientSession("alice")
    s.join("#lobby")
    s.join("#secret", "k3y")
    s.start()
    sent(s)
    feed(s, ":srv 001 alice :hi", ":srv 376 alice :End")
    assert sent(s) == ["JOIN #lobby", "JOIN #secret k3y"]


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


def test_first_join_asks_for_the_latest_history() -> None:
    s = registered()
    feed(s, f":{ALICE} JOIN #lobby")
    assert sent(s)[0] == f"CHATHISTORY LATEST #lobby * {HISTORY_LIMIT}"


def test_no_history_request_without_the_chathistory_cap() -> None:
    s = registered(caps="server-time")
    feed(s, f":{ALICE} JOIN #lobby")
    assert sent(s) == []


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


def test_own_part_forgets_the_room_so_reconnect_does_not_rejoin() -> None:
    s = joined()
    s.part("#lobby", "bye")
    assert sent(s) == ["PART #lobby bye"]
    assert feed(s, f":{ALICE} PART #lobby :bye") == [
        Parted("lan", "#lobby", "alice", "bye", own=True)
    ]
    assert s.rooms == {}
    assert s.wanted_rooms == {}


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
    assert events == [TopicChanged("lan", "#lobby", "New topic", "bob", 1_700_000_000_500)]


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


# ---------------------------------------------------------------- messages


def test_room_message_from_someone_with_ip_time_and_msgid() -> None:
    s = joined()
    events = feed(s, f"@msgid=m1;time=2023-11-14T22:13:20.000Z :{BOB} PRIVMSG #lobby :hi all")
    assert events == [
        MessageReceived(
            "lan",
            "#lobby",
            "bob",
            "192.168.1.20",
            "hi all",
            1_700_000_000_000,
            "m1",
            "privmsg",
            own=False,
            private=False,
            highlight=False,
            history=False,
        )
    ]


def test_message_without_server_time_uses_the_clock() -> None:
    s = joined()
    (event,) = feed(s, f":{BOB} NOTICE #lobby :hello")
    assert isinstance(event, MessageReceived)
    assert (event.time_ms, event.kind, event.msgid) == (int(NOW_S * 1000), "notice", None)


def test_private_message_is_keyed_by_the_other_nick_and_highlights() -> None:
    s = joined()
    (event,) = feed(s, f":{BOB} PRIVMSG alice :psst")
    assert isinstance(event, MessageReceived)
    assert (event.target, event.private, event.highlight) == ("bob", True, True)


def test_echoed_private_message_is_keyed_by_the_recipient() -> None:
    s = joined()
    (event,) = feed(s, f"@msgid=e1 :{ALICE} PRIVMSG bob :psst")
    assert isinstance(event, MessageReceived)
    assert (event.target, event.own, event.private, event.highlight) == ("bob", True, True, False)


def test_action_is_unwrapped() -> None:
    s = joined()
    (event,) = feed(s, f":{BOB} PRIVMSG #lobby :\x01ACTION waves\x01")
    assert isinstance(event, MessageReceived)
    assert (event.kind, event.text) == ("action", "waves")


def test_other_ctcp_requests_are_not_shown() -> None:
    s = joined()
    assert feed(s, f":{BOB} PRIVMSG alice :\x01VERSION\x01") == []


def test_highlight_on_whole_word_casefolded_mention_only() -> None:
    s = joined()

    def highlight(text: str) -> bool:
        (event,) = feed(s, f":{BOB} PRIVMSG #lobby :{text}")
        assert isinstance(event, MessageReceived)
        return event.highlight

    assert highlight("ALICE: lunch?")
    assert highlight("lunch, Alice?")
    assert not highlight("alice_ is someone else")
    assert not highlight("malice")
    assert not highlight("no mention")


def test_say_with_echo_message_waits_for_the_echo() -> None:
    s = joined()
    assert s.say("#lobby", "hello") == []
    assert sent(s) == ["PRIVMSG #lobby hello"]
    events = feed(s, f"@msgid=x9;time=2023-11-14T22:13:20.000Z :{ALICE} PRIVMSG #lobby hello")
    assert of_type(events, MessageReceived)[0].own


def test_say_without_echo_message_returns_a_local_echo() -> None:
    s = registered(caps="server-time")
    (event,) = s.say("#lobby", "hello")
    assert isinstance(event, MessageReceived)
    assert (event.own, event.msgid, event.text, event.nick) == (True, None, "hello", "alice")


def test_action_command_wraps_ctcp() -> None:
    s = joined()
    s.say("#lobby", "waves", action=True)
    assert sent(s) == ["PRIVMSG #lobby :\x01ACTION waves\x01"]


def test_multi_line_and_long_text_is_split_into_several_messages() -> None:
    s = joined()
    s.say("#lobby", "one\n\ntwo " + "é" * 400)
    lines = sent(s)
    assert lines[0] == "PRIVMSG #lobby one"
    assert lines[1] == "PRIVMSG #lobby two"  # cut at the space that fits
    assert len(lines) == 4
    assert all(len(line.encode()) <= 512 - 80 for line in lines)
    assert "".join(line.split(" ", 2)[2] for line in lines[2:]) == "é" * 400


def test_split_text_cuts_at_spaces_and_character_boundaries() -> None:
    assert split_text("aaa bbb ccc", 7) == ["aaa bbb", "ccc"]
    assert split_text("ééé", 4) == ["éé", "é"]
    assert split_text(" \n", 10) == []


def test_duplicate_msgid_is_dropped() -> None:
    s = joined()
    line = f"@msgid=dup1 :{BOB} PRIVMSG #lobby :once"
    assert len(feed(s, line)) == 1
    assert feed(s, line) == []


def test_server_notice_is_a_server_notice() -> None:
    s = ClientSession("alice", server_id="lan")
    assert feed(s, ":srv NOTICE * :*** Looking up your hostname") == [
        ServerNotice("lan", "*** Looking up your hostname")
    ]


# ---------------------------------------------------------------- history


def _history_batch(ref: str, room: str, msgs: list[tuple[str, str]]) -> list[str]:
    lines = [f":srv BATCH +{ref} chathistory {room}"]
    for i, (msgid, text) in enumerate(msgs):
        lines.append(
            f"@batch={ref};msgid={msgid};time=2023-11-14T22:13:{i:02d}.000Z "
            f":{BOB} PRIVMSG {room} :{text}"
        )
    lines.append(f":srv BATCH -{ref}")
    return lines


def test_history_batch_gives_messages_in_order_then_history_loaded() -> None:
    s = joined()
    events = feed(s, *_history_batch("b1", "#lobby", [("h1", "first"), ("h2", "second")]))
    msgs = of_type(events, MessageReceived)
    assert [(m.text, m.history, m.msgid) for m in msgs] == [
        ("first", True, "h1"),
        ("second", True, "h2"),
    ]
    assert events[-1] == HistoryLoaded("lan", "#lobby", 2)


def test_history_inside_a_labeled_response_batch_is_still_history() -> None:
    s = joined()
    events = feed(
        s,
        "@label=l1 :srv BATCH +outer labeled-response",
        "@batch=outer :srv BATCH +inner chathistory #lobby",
        f"@batch=inner;msgid=n1 :{BOB} PRIVMSG #lobby :old",
        ":srv BATCH -inner",
        ":srv BATCH -outer",
    )
    assert of_type(events, MessageReceived)[0].history
    assert of_type(events, HistoryLoaded) == [HistoryLoaded("lan", "#lobby", 1)]


def test_reconnect_rejoins_and_asks_only_for_the_gap_without_duplicates() -> None:
    s = joined()
    feed(s, f"@msgid=seen1 :{BOB} PRIVMSG #lobby :before the drop")
    # The connection drops; a new one registers again.
    s.start()
    assert sent(s)[0] == "CAP LS 302"
    feed(s, ":srv CAP * LS :batch server-time echo-message draft/chathistory")
    feed(s, ":srv CAP * ACK :batch server-time echo-message draft/chathistory")
    feed(s, ":srv 001 alice :hi", ":srv 376 alice :End")
    assert "JOIN #lobby" in sent(s)
    feed(s, f":{ALICE} JOIN #lobby")
    assert sent(s) == [f"CHATHISTORY AFTER #lobby msgid=seen1 {HISTORY_LIMIT}"]
    events = feed(
        s, *_history_batch("g1", "#lobby", [("seen1", "before the drop"), ("new1", "missed")])
    )
    assert [m.text for m in of_type(events, MessageReceived)] == ["missed"]
    assert events[-1] == HistoryLoaded("lan", "#lobby", 1)
    assert sent(s) == []  # a short page: the gap is filled


def test_a_full_page_of_gap_asks_for_the_next_page() -> None:
    s = joined()
    feed(s, f"@msgid=seen1 :{BOB} PRIVMSG #lobby :x")
    s.start()
    feed(s, ":srv CAP * LS :batch draft/chathistory", ":srv CAP * ACK :batch draft/chathistory")
    feed(s, ":srv 001 alice :hi", ":srv 376 alice :End", f":{ALICE} JOIN #lobby")
    sent(s)
    page = [(f"p{i}", f"msg {i}") for i in range(HISTORY_LIMIT)]
    feed(s, *_history_batch("g1", "#lobby", page))
    assert sent(s) == [f"CHATHISTORY AFTER #lobby msgid=p{HISTORY_LIMIT - 1} {HISTORY_LIMIT}"]


def test_rejoin_without_msgid_uses_the_last_timestamp() -> None:
    s = joined()
    feed(s, f"@time=2023-11-14T22:13:20.250Z :{BOB} PRIVMSG #lobby :no id")
    s.start()
    feed(s, ":srv CAP * LS :draft/chathistory", ":srv CAP * ACK :draft/chathistory")
    feed(s, ":srv 001 alice :hi", ":srv 376 alice :End", f":{ALICE} JOIN #lobby")
    assert sent(s)[-1] == (
        f"CHATHISTORY AFTER #lobby timestamp=2023-11-14T22:13:20.250Z {HISTORY_LIMIT}"
    )


def test_request_history_before_a_message() -> None:
    s = joined()
    s.request_history("#lobby", "m5", 50)
    s.request_history("bob")
    assert sent(s) == [
        "CHATHISTORY BEFORE #lobby msgid=m5 50",
        f"CHATHISTORY LATEST bob * {HISTORY_LIMIT}",
    ]


# ---------------------------------------------------------------- errors


def test_error_numerics_become_server_errors_with_hints() -> None:
    s = joined()
    cases = {
        ":srv 475 alice #vault :Cannot join channel (+k)": "This room needs a key (password)",
        ":srv 474 alice #vault :Cannot join channel (+b)": "You are banned from this room",
        ":srv 471 alice #vault :Cannot join channel (+l)": "This room is full; try again later",
        ":srv 473 alice #vault :Cannot join channel (+i)": (
            "This room is invite-only; ask someone inside to /invite you"
        ),
        ":srv 464 alice :Password incorrect": (
            "Wrong server password; ask the host of the room for the right one"
        ),
    }
    for line, hint in cases.items():
        (event,) = feed(s, line)
        assert isinstance(event, ServerError)
        assert (event.code, event.hint) == (line.split()[1], hint)
    (event,) = feed(s, ":srv 475 alice #vault :Cannot join channel (+k)")
    assert isinstance(event, ServerError)
    assert event.text == "#vault: Cannot join channel (+k)"


def test_unknown_error_numeric_has_an_empty_hint() -> None:
    assert hint_for("499") == ""


def test_informational_numerics_become_server_notices() -> None:
    s = registered()
    assert feed(s, ":srv 372 alice :- Welcome to the lobby") == [
        ServerNotice("lan", "- Welcome to the lobby")
    ]
    assert feed(s, ":srv 004 alice srv lanchat-0.1 o imnst") == []


def test_refused_history_request_ends_with_nothing_loaded_and_no_error() -> None:
    s = registered()
    feed(s, f":{ALICE} JOIN #lobby")
    sent(s)
    assert feed(s, ":srv 421 alice CHATHISTORY :Unknown command") == [
        HistoryLoaded("lan", "#lobby", 0)
    ]
    feed(s, f":{ALICE} JOIN #dev")
    assert feed(s, ":srv FAIL CHATHISTORY MESSAGE_ERROR #dev :Messages could not be retrieved") == [
        HistoryLoaded("lan", "#dev", 0)
    ]


def test_other_standard_replies_are_server_errors() -> None:
    s = registered()
    (event,) = feed(s, ":srv FAIL SETNAME INVALID_REALNAME :Realname is too long")
    assert event == ServerError("lan", "SETNAME INVALID_REALNAME", "Realname is too long", "")


def test_an_older_history_page_does_not_move_the_reconnect_point_back() -> None:
    s = joined()
    feed(s, f"@msgid=new;time=2023-11-14T22:20:00.000Z :{BOB} PRIVMSG #lobby :latest")
    s.request_history("#lobby", "new")
    feed(s, *_history_batch("old", "#lobby", [("o1", "older")]))
    assert s.last_seen["#lobby"] == ("new", 1_700_000_400_000)


def test_reconnect_catches_up_private_conversations_found_with_targets() -> None:
    s = joined()
    feed(s, f"@msgid=p1;time=2023-11-14T22:13:20.000Z :{BOB} PRIVMSG alice :before")
    s.start()
    feed(s, ":srv CAP * LS :batch draft/chathistory", ":srv CAP * ACK :batch draft/chathistory")
    feed(s, ":srv 001 alice :hi", ":srv 376 alice :End")
    assert sent(s)[-2:] == [
        "JOIN #lobby",
        "CHATHISTORY TARGETS timestamp=2023-11-14T22:13:20.000Z "
        "timestamp=2024-11-14T22:13:20.000Z 50",
    ]
    feed(
        s,
        ":srv BATCH +t draft/chathistory-targets",
        "@batch=t :srv CHATHISTORY TARGETS bob 2023-11-14T22:15:00.000Z",
        "@batch=t :srv CHATHISTORY TARGETS carol 2023-11-14T22:16:00.000Z",
        "@batch=t :srv CHATHISTORY TARGETS #lobby 2023-11-14T22:16:00.000Z",
        ":srv BATCH -t",
    )
    assert sent(s) == [
        f"CHATHISTORY AFTER bob msgid=p1 {HISTORY_LIMIT}",
        f"CHATHISTORY AFTER carol timestamp=2023-11-14T22:13:20.000Z {HISTORY_LIMIT}",
    ]
    events = feed(
        s,
        ":srv BATCH +h chathistory bob",
        f"@batch=h;msgid=p1 :{BOB} PRIVMSG alice :before",
        f"@batch=h;msgid=p2 :{BOB} PRIVMSG alice :while you were away",
        ":srv BATCH -h",
    )
    (missed,) = of_type(events, MessageReceived)
    assert (missed.target, missed.text, missed.history) == ("bob", "while you were away", True)


_VERBS = [
    "PING", "ERROR", "CAP", "JOIN", "PART", "KICK", "QUIT", "NICK", "TOPIC", "MODE", "AWAY",
    "INVITE", "PRIVMSG", "NOTICE", "BATCH", "FAIL", "CHATHISTORY", "001", "005", "305", "306",
    "332", "333", "353", "366", "376", "421", "422", "433", "475", "999",
]  # fmt: skip
_WORDS = st.sampled_from(
    ["alice", "bob", "#lobby", "*", "+b1", "-b1", "LS", "ACK", "NAK", "NEW", "DEL", "TARGETS",
     "chathistory", "+ov", "-o", "@+bob", "1700000000", "x!y@z", "\x01ACTION", ""]
)  # fmt: skip


_LINE_TEXT = st.text(alphabet=st.characters(blacklist_characters="\r\n\0"), max_size=12)


@st.composite
def _server_lines(draw: st.DrawFn) -> Message:
    """A message as parse() could hand it over (what a real, if buggy, server can send)."""
    msg = Message(
        draw(st.sampled_from(_VERBS)),
        tuple(draw(st.lists(st.one_of(_WORDS, _LINE_TEXT), max_size=5))),
        draw(st.one_of(st.none(), st.sampled_from([ALICE, BOB, "srv"]))),
        draw(st.dictionaries(st.sampled_from(["msgid", "time", "batch"]), _WORDS, max_size=3)),
    )
    try:
        return parse(msg.to_line())
    except ProtocolError:
        assume(False)
        raise


@settings(max_examples=100, deadline=None)
@given(st.lists(_server_lines(), max_size=30))
def test_any_sequence_of_server_messages_is_handled_without_an_exception(
    msgs: list[Message],
) -> None:
    s = joined()
    for msg in msgs:
        assert isinstance(s.feed(msg), list)
        s.data_to_send()


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
