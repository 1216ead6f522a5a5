"""Upload tokens and the FILEHOST command (lanchat.server.uploads, handlers/files; issue 21).

The tokens alone with a fake clock, then FILEHOST and ISUPPORT draft/FILEHOST by transcript.
Over real sockets: tests/web/test_files.py.
"""

from __future__ import annotations

from lanchat.server.uploads import UploadTokens, file_ids_in
from tests.server.transcript import FakeClock, Transcript, expect_numeric


def test_a_token_names_its_connection_until_it_expires() -> None:
    clock = FakeClock()
    tokens = UploadTokens(lifetime_s=600.0, clock=clock)
    token = tokens.issue(7)
    assert len(token) >= 43 and tokens.holder(token) == 7
    assert tokens.holder(token + "x") is None
    clock.advance(599.0)
    assert tokens.holder(token) == 7
    clock.advance(1.0)
    assert tokens.holder(token) is None


def test_asking_again_replaces_the_token_so_a_loop_holds_one() -> None:
    clock = FakeClock()
    tokens = UploadTokens(lifetime_s=600.0, clock=clock)
    first = tokens.issue(7)
    for _ in range(100):
        last = tokens.issue(7)
    assert tokens.holder(first) is None and tokens.holder(last) == 7
    assert len(tokens) == 1
    tokens.issue(8)
    clock.advance(601.0)
    tokens.issue(9)  # expired tokens of other connections go at the next issue
    assert len(tokens) == 1


def test_filehost_gives_a_token_for_this_connection_when_files_are_on() -> None:
    t = Transcript()
    conn = t.connect()
    t.state.users[conn.conn_id].filehost = "http://10.0.0.1:8080/files"
    conn.send("NICK alice")
    conn.send("USER alice 0 * :Alice")
    isupport = [p for m in conn.take() if m.command == "005" for p in m.params]
    assert "draft/FILEHOST=http://10.0.0.1:8080/files" in isupport
    assert "soju.im/FILEHOST=http://10.0.0.1:8080/files" in isupport
    conn.send("FILEHOST")
    [note] = conn.take()
    assert note.command == "NOTE" and note.params[:2] == ("FILEHOST", "TOKEN")
    token, seconds, text = note.params[2:]
    assert t.state.upload_tokens.holder(token) == conn.conn_id
    assert seconds == "600"
    assert text == f'Upload with "Authorization: Bearer {token}" to http://10.0.0.1:8080/files'


def test_filehost_without_files_fails_and_isupport_says_nothing() -> None:
    t = Transcript()
    conn = t.connect()
    conn.send("NICK bob")
    conn.send("USER bob 0 * :Bob")
    got = conn.take()
    expect_numeric(got, "001")
    assert not any("FILEHOST" in p for m in got if m.command == "005" for p in m.params)
    conn.send("FILEHOST")
    [fail] = conn.take()
    assert fail.command == "FAIL" and fail.params[:2] == ("FILEHOST", "DISABLED")
    assert len(t.state.upload_tokens) == 0


def test_the_links_of_shared_files_in_a_message() -> None:
    a, b = "A" * 24, "b-_" * 8
    text = f"see http://10.0.0.1:8080/files/{a}/x.png and https://h/files/{b}/y, again {a}"
    assert file_ids_in(text + f" http://10.0.0.1:8080/files/{a}/x.png") == [a, b]
    assert file_ids_in("http://h/files/short/x http://h/other/" + a + "/x") == []
