"""The page's sans-I/O session (lanchat/web/static/session.js) by transcript, in Chromium.

Lines from the server are fed to a `Session` and the lines it sends, the events it gives the
page and the conversations it keeps are compared with what the specs say (the shape of the
Python client's transcript tests, tests/client/transcript.py). The module runs in the real
browser the page runs in, loaded from the static directory by a plain HTTP server on
127.0.0.1: no IRC server is needed, so the cases the end-to-end tests cannot make happen on
purpose (a live message racing its own history, a gap longer than a page) are exact here.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from lanchat.web.site import STATIC_DIR
from tests.web.page_browser import Page, start_chromium

# Feeds `steps` to a new Session (nick "carol", clock at 1000 ms, signing in with `login` if
# given) and returns what happened. A step is ["recv", line], ["markRead", conversation] (the
# person read it: account.js) or [method, ...args] (a Session method: join, say, setActive...).
_RUN = """
const [steps, login, done] = arguments;
const base = location.href;
Promise.all(['session.js', 'irc.js', 'account.js'].map((m) => import(new URL(m, base))))
  .then(([{ Session }, { parse }, { markRead }]) => {
    const sent = [];
    const events = [];
    const session = new Session({
      nick: 'carol',
      login,
      send: (line) => sent.push(line),
      notify: (e) => events.push([e.type, e.conv?.name ?? e.state ?? e.text ?? null]),
      now: () => 1000,
    });
    for (const [what, ...args] of steps) {
      if (what === 'recv') session.receive(parse(args[0]));
      else if (what === 'markRead') markRead(session, session.conversations.get(args[0]));
      else session[what](...args);
    }
    const conversations = {};
    for (const c of session.conversations.values()) {
      conversations[c.name] = {
        lines: c.lines.map((l) => `${l.nick ?? '*'} ${l.kind}: ${l.text}`),
        unread: c.unread, mentions: c.mentions, topic: c.topic, joined: c.joined,
        readTime: c.readTime,
        members: c.sortedMembers().map((m) => m.prefixes + m.nick),
      };
    }
    done({ sent, events, conversations, nick: session.nick, caps: [...session.caps].sort(),
           account: session.account });
  });
"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on the test's stderr."""


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    """Chromium on a page of the static directory, served from 127.0.0.1."""
    handler = functools.partial(_Quiet, directory=str(STATIC_DIR))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    driver = start_chromium()
    try:
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/icon.svg")
        yield Page(driver)
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()


def run(page: Page, *steps: list[str], login: dict[str, str] | None = None) -> dict[str, Any]:
    return dict(page.driver.execute_async_script(_RUN, [list(s) for s in steps], login))


def recv(*lines: str) -> list[list[str]]:
    return [["recv", line] for line in lines]


REGISTERED = recv(
    ":srv CAP * LS * :away-notify batch cap-notify draft/chathistory echo-message",
    ":srv CAP * LS :message-tags multi-prefix server-time setname userhost-in-names",
    ":srv CAP * ACK :away-notify batch draft/chathistory echo-message message-tags "
    "multi-prefix server-time userhost-in-names",
    ":srv 001 carol :Welcome",
)


def history(ref: str, target: str, *messages: tuple[str, int, str]) -> list[list[str]]:
    """A chathistory batch of (msgid, seconds past noon, "nick text") messages."""
    lines = [f":srv BATCH +{ref} chathistory {target}"]
    for msgid, second, said in messages:
        nick, text = said.split(" ", 1)
        time = f"2026-12-04T12:{second // 60:02d}:{second % 60:02d}.000Z"
        lines.append(f"@batch={ref};msgid={msgid};time={time} :{nick}!u@h PRIVMSG {target} :{text}")
    lines.append(f":srv BATCH -{ref}")
    return recv(*lines)


def test_registration_asks_for_the_offered_capabilities_it_uses(page: Page) -> None:
    got = run(page, ["connectionOpened"], *REGISTERED)
    assert got["sent"] == [
        "CAP LS 302",
        "NICK carol",
        "USER web 0 * carol",
        # after the second LS line only: the first ended with "*" (more to come)
        "CAP REQ :away-notify batch draft/chathistory echo-message message-tags multi-prefix "
        "server-time userhost-in-names",
        "CAP END",
    ]
    assert "echo-message" in got["caps"]
    assert ["state", "registered"] in got["events"]


def test_a_taken_nickname_gets_an_underscore_and_is_said(page: Page) -> None:
    got = run(
        page,
        ["connectionOpened"],
        *recv(":srv 433 * carol :Nickname is already in use", ":srv 001 carol_ :Welcome"),
    )
    assert got["sent"][-1] == "NICK carol_"
    assert got["nick"] == "carol_"
    assert ["alert", "carol was taken, so you are carol_: type /nick to pick another."] in got[
        "events"
    ]


def test_history_on_join_and_a_live_message_racing_it_are_shown_once_in_order(
    page: Page,
) -> None:
    got = run(
        page,
        ["connectionOpened"],
        *REGISTERED,
        ["join", "#lobby"],
        *recv(":carol!u@h JOIN #lobby"),
        # said after the JOIN, so both live and in the history the server sends back
        *recv("@msgid=m3;time=2026-12-04T12:00:03.000Z :bob!u@h PRIVMSG #lobby :three"),
        *history(
            "b1", "#lobby", ("m1", 1, "bob one"), ("m2", 2, "dave two"), ("m3", 3, "bob three")
        ),
    )
    assert "JOIN #lobby" in got["sent"]
    assert got["sent"][-1] == "CHATHISTORY LATEST #lobby * 100"
    lobby = got["conversations"]["#lobby"]
    assert lobby["lines"] == ["bob message: one", "dave message: two", "bob message: three"]
    assert lobby["unread"] == 1  # the live line; history shown on joining is not news


def test_after_a_reconnect_the_gap_is_asked_for_page_by_page(page: Page) -> None:
    full_page = [(f"g{i}", 10 + i, f"bob gap {i}") for i in range(100)]
    got = run(
        page,
        ["connectionOpened"],
        *REGISTERED,
        ["join", "#lobby"],
        *recv(":carol!u@h JOIN #lobby"),
        *history("b1", "#lobby", ("m1", 1, "bob before")),
        ["connectionClosed"],
        ["connectionOpened"],
        *REGISTERED,
        *recv(":carol!u@h JOIN #lobby"),
        *history("b2", "#lobby", *full_page),
        *history("b3", "#lobby", ("g99", 109, "bob gap 99"), ("m2", 300, "bob last")),
    )
    asked = [line for line in got["sent"] if line.startswith(("JOIN", "CHATHISTORY"))]
    assert asked == [
        "JOIN #lobby",
        "CHATHISTORY LATEST #lobby * 100",
        "JOIN #lobby",  # rejoined by itself after the reconnect
        "CHATHISTORY AFTER #lobby msgid=m1 100",
        "CHATHISTORY AFTER #lobby msgid=g99 100",  # the first page was full: ask for more
    ]
    lines = got["conversations"]["#lobby"]["lines"]
    assert len(lines) == 102 and len(set(lines)) == 102  # g99 came twice, is shown once
    assert lines[0] == "bob message: before" and lines[-1] == "bob message: last"


def test_mentions_unread_counts_and_private_messages(page: Page) -> None:
    got = run(
        page,
        ["connectionOpened"],
        *REGISTERED,
        ["join", "#lobby"],
        *recv(":carol!u@h JOIN #lobby"),
        ["setActive", "#lobby"],
        *recv(
            ":bob!u@h PRIVMSG #lobby :hi all",
            ":bob!u@h PRIVMSG #lobby :Carol, are you there?",
            ":bob!u@h PRIVMSG carol :psst",
            ":bob!u@h PRIVMSG #lobby :\x01ACTION waves\x01",
            ":bob!u@h PRIVMSG carol :\x01VERSION\x01",
            ":srv NOTICE carol :*** a server notice",
        ),
    )
    lobby, bob = got["conversations"]["#lobby"], got["conversations"]["bob"]
    assert lobby["unread"] == 0  # on screen
    assert bob["lines"] == ["bob message: psst"]  # no CTCP VERSION line
    assert bob["unread"] == 1 and bob["mentions"] == 1  # a private message is for you
    assert lobby["lines"][-2:] == ["bob action: waves", "* system: *** a server notice"]
    run_off_screen = run(
        page,
        ["connectionOpened"],
        *REGISTERED,
        ["join", "#lobby"],
        *recv(
            ":carol!u@h JOIN #lobby",
            ":bob!u@h PRIVMSG #lobby :hi",
            ":bob!u@h PRIVMSG #lobby :carol?",
        ),
    )
    off = run_off_screen["conversations"]["#lobby"]
    assert (off["unread"], off["mentions"]) == (2, 1)


def test_names_with_prefixes_and_hosts_make_the_member_list(page: Page) -> None:
    got = run(
        page,
        ["connectionOpened"],
        *REGISTERED,
        ["join", "#lobby"],
        *recv(
            ":carol!u@h JOIN #lobby",
            ":srv 332 carol #lobby :Friday party",
            ":srv 353 carol = #lobby :+dave!d@h carol!u@h @+bob!b@h",
            ":srv 366 carol #lobby :End of /NAMES list.",
            ":erin!e@h JOIN #lobby",
            ":dave!d@h QUIT :bye",
        ),
    )
    lobby = got["conversations"]["#lobby"]
    assert lobby["members"] == ["@+bob", "carol", "erin"]
    assert lobby["topic"] == "Friday party"
    assert lobby["lines"][-2:] == ["* system: erin joined.", "* system: dave left (bye)"]


ALICE = {"account": "alice", "password": "wönderland"}
OFFERS_ACCOUNTS = recv(
    ":srv CAP * LS :batch draft/chathistory draft/read-marker echo-message message-tags "
    "sasl=PLAIN server-time",
    ":srv CAP * ACK :batch draft/chathistory draft/read-marker echo-message message-tags sasl "
    "server-time",
)


def test_signing_in_is_sasl_plain_before_cap_end(page: Page) -> None:
    got = run(page, ["connectionOpened"], *OFFERS_ACCOUNTS, login=ALICE)
    assert got["sent"][-2:] == [
        "CAP REQ :batch draft/chathistory echo-message message-tags server-time "
        "sasl draft/read-marker",
        "AUTHENTICATE PLAIN",
    ]  # and no CAP END while the exchange is open
    got = run(
        page,
        ["connectionOpened"],
        *OFFERS_ACCOUNTS,
        *recv(
            "AUTHENTICATE +",
            ":srv 900 carol carol!web@h alice :You are now logged in as alice",
            ":srv 903 carol :SASL authentication successful",
            ":srv 001 carol :Welcome",
        ),
        login=ALICE,
    )
    # RFC 4616: no authzid, NUL, the account, NUL, the password, in UTF-8 and base64
    assert got["sent"][-2:] == ["AUTHENTICATE AGFsaWNlAHfDtm5kZXJsYW5k", "CAP END"]
    assert got["account"] == "alice"
    assert ["state", "registered"] in got["events"]


def test_a_guest_never_asks_for_sasl(page: Page) -> None:
    got = run(page, ["connectionOpened"], *OFFERS_ACCOUNTS[:1])
    assert "sasl" not in got["sent"][-1] and "draft/read-marker" in got["sent"][-1]


def test_a_refused_sign_in_goes_back_saying_so(page: Page) -> None:
    got = run(
        page,
        ["connectionOpened"],
        *OFFERS_ACCOUNTS,
        *recv("AUTHENTICATE +", ":srv 904 carol :SASL authentication failed"),
        login=ALICE,
    )
    alert = next(text for kind, text in got["events"] if kind == "alert")
    assert alert.startswith("That account name or password did not work")
    assert got["events"][-1] == ["state", "rejected"]
    assert "CAP END" not in got["sent"]


def test_read_markers_set_the_unread_counts_and_move_when_read(page: Page) -> None:
    got = run(
        page,
        ["connectionOpened"],
        *OFFERS_ACCOUNTS,
        *recv(":srv 001 carol :Welcome"),
        ["join", "#lobby"],
        *recv(":carol!u@h JOIN #lobby", ":srv MARKREAD #lobby timestamp=2026-12-04T12:00:01.000Z"),
        *history("b1", "#lobby", ("m1", 1, "bob one"), ("m2", 2, "dave two"), ("m3", 3, "bob 3")),
    )
    lobby = got["conversations"]["#lobby"]
    assert lobby["unread"] == 2  # history after the account's marker is unread, here too
    assert lobby["readTime"] == 1796385601000
    read_elsewhere = recv(":srv MARKREAD #lobby timestamp=2026-12-04T12:00:03.000Z")
    got = run(
        page,
        ["connectionOpened"],
        *OFFERS_ACCOUNTS,
        *recv(":srv 001 carol :Welcome"),
        ["join", "#lobby"],
        *recv(":carol!u@h JOIN #lobby", ":srv MARKREAD #lobby timestamp=2026-12-04T12:00:01.000Z"),
        *history("b1", "#lobby", ("m1", 1, "bob one"), ("m2", 2, "dave two"), ("m3", 3, "bob 3")),
        *read_elsewhere,
        *recv("@msgid=m4;time=2026-12-04T12:00:04.000Z :bob!u@h PRIVMSG #lobby :four"),
        ["markRead", "#lobby"],
        ["markRead", "#lobby"],  # no news: not sent again
    )
    lobby = got["conversations"]["#lobby"]
    assert ["read", "#lobby"] in got["events"]
    assert got["sent"][-1] == "MARKREAD #lobby timestamp=2026-12-04T12:00:04.000Z"
    assert got["sent"].count(got["sent"][-1]) == 1
    assert lobby["readTime"] == 1796385604000
