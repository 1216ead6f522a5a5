"""What each network event does to the chat window: one method per client event.

Layer: GUI (Tk main thread only); imports lanchat.client.events (plain values) and
lanchat.gui.{lines,viewmodel}; works on a lanchat.gui.app.ChatApp through its public methods.
Spec of the behaviour: lanchat issue #3 ("The client"): notices for joins, parts, quits, nick
and topic changes and kicks; the recent history on join; reconnection state in the status bar;
errors in plain words.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lanchat.client import events as ev
from lanchat.gui.lines import Line, format_message
from lanchat.gui.viewmodel import Conversation, conversation_key, server_label
from lanchat.protocol import casefold

if TYPE_CHECKING:
    from lanchat.gui.app import ChatApp
    from lanchat.gui.chat import ConversationView

__all__ = ["BANNER_CODES", "HANDLERS", "Incoming"]

# Refusals worth a banner above the tabs (the person must act): nick taken or invalid, wrong
# server password, banned, room full, invite-only, wrong key; each with what success hides
# it (a nick change, a join, a new connection: issue #15).
BANNER_CODES = {
    "432": "nick",
    "433": "nick",
    "464": "server",
    "465": "server",
    "471": "join",
    "473": "join",
    "474": "join",
    "475": "join",
}


def context_line(hit: ev.SearchHit, *, own: bool) -> Line:
    """The transcript line of a message fetched around a search hit (an action is listed
    as "* nick text" by the client library)."""
    action = f"* {hit.nick} "
    kind, text = "privmsg", hit.text
    if text.startswith(action):
        kind, text = "action", text[len(action) :]
    return format_message(
        nick=hit.nick, ip="", text=text, time_ms=hit.time_ms, own=own, kind=kind, msgid=hit.msgid
    )


class Incoming:
    """Tk thread only. Applies client events to `app`; HANDLERS names a method per event type."""

    def __init__(self, app: ChatApp) -> None:
        self.app = app

    def apply(self, event: object) -> None:
        """Apply one client event (unknown kinds are ignored: newer library, older window)."""
        handler = HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def on_connecting(self, e: ev.Connecting) -> None:
        srv = self.app.servers.get(e.server_id)
        if srv is None:
            return
        # a clustered room's connection tries its nodes in turn (issue 20): say which one
        srv.address = server_label(e.host, e.port)
        if e.attempt > 1:
            srv.state, srv.retry_at = "reconnecting", 0.0
            self.app.set_status(f"Reconnecting to {srv.address} (attempt {e.attempt})…")
            self._connection_line(e.server_id, "Reconnecting…", retry=False)
        else:
            self.app.set_status(f"Connecting to {srv.address}…")

    def on_registered(self, e: ev.Registered) -> None:
        srv = self.app.servers.get(e.server_id)
        if srv is None:
            return
        was_reconnecting = srv.state == "reconnecting"
        srv.state, srv.nick = "connected", e.nick
        self.app.model.nicks[e.server_id] = e.nick
        self.app.model.connected.add(e.server_id)
        if srv.manual:
            self.app.rooms_page.busy("")
            self.app.remember(recent=srv.label)
            self.app.connect_page.set_recent(self.app.settings.recent)
        self.app.banner.hide()
        self.app.set_status(self.app.connected_status(e.server_id))
        self.app.show_retry()
        for view in self._room_views(e.server_id):
            view.hide_connection()
        if was_reconnecting:
            self.app.note_server(e.server_id, "Reconnected; missed messages are filled in.")

    def on_disconnected(self, e: ev.Disconnected) -> None:
        srv = self.app.servers.get(e.server_id)
        if srv is None or srv.state == "closed":
            return  # e.g. the goodbye of a connection stopped because its room was closed
        if e.will_retry and srv.withdrawn:
            self._closed_by_host(e.server_id, srv.withdrawn)
            return
        first_loss = srv.state == "connected"
        self.app.model.connected.discard(e.server_id)
        if e.will_retry:
            srv.state = "reconnecting"
            srv.retry_at = time.monotonic() + e.retry_in_s
            text = f"Connection to {srv.where} lost ({e.reason}); retrying in {e.retry_in_s:.0f} s."
        else:
            srv.state = "closed"
            text = f"Disconnected from {srv.label} ({e.reason})."
        self.app.set_status(text)
        self.app.show_retry()
        for conv in self._joined_rooms(e.server_id):
            if first_loss or not e.will_retry:
                # one line in the transcript per loss; the attempts update the line above it
                self.app.note(e.server_id, conv.name, f"Connection lost ({e.reason}).")
            conv.set_members(())
            self.refresh_members(conv)
        if e.will_retry:
            self.count_down()
        else:
            self._connection_line(e.server_id, "Not connected.", retry=False)

    def count_down(self) -> None:
        """Refresh "Reconnecting in N s…" on the tabs of every waiting connection (called
        once per drain; the text changes once a second)."""
        now = time.monotonic()
        for server_id, srv in self.app.servers.items():
            if srv.state == "reconnecting" and srv.retry_at:
                left = max(1, math.ceil(srv.retry_at - now))
                self._connection_line(server_id, f"Reconnecting in {left} s…", retry=True)

    def room_withdrawn(self, server_id: str, room: str) -> None:
        """The host of `room` withdrew it from the LAN (stopped it): stop trying to get back
        in once the connection is gone (issue #15, bug 5)."""
        srv = self.app.servers[server_id]
        srv.withdrawn = room
        if srv.state == "reconnecting":
            self._closed_by_host(server_id, room)

    def _closed_by_host(self, server_id: str, room: str) -> None:
        srv = self.app.servers[server_id]
        srv.state = "closed"
        self.app.network.submit(ev.Quit(server_id, "Closing"))
        self.app.show_retry()
        self.app.set_status(f"{room} was closed by its host.")
        for conv in self._joined_rooms(server_id):
            conv.joined = False
            self.app.joins.mark_joined(server_id, conv.name, False)
        self.app.model.connected.discard(server_id)
        self._connection_line(server_id, f"{room} was closed by its host.", retry=False)

    def _joined_rooms(self, server_id: str) -> list[Conversation]:
        return [
            c
            for c in self.app.model.conversations.values()
            if c.server_id == server_id and c.kind == "room" and c.joined
        ]

    def _room_views(self, server_id: str) -> list[ConversationView]:
        return [
            view
            for key, view in self.app.views.items()
            if (c := self.app.model.conversations.get(key)) is not None
            and c.server_id == server_id
            and c.kind == "room"
        ]

    def _connection_line(self, server_id: str, text: str, *, retry: bool) -> None:
        for view in self._room_views(server_id):
            if view.connection_message() != text:
                view.show_connection(text, retry=retry)

    def on_connect_failed(self, e: ev.ConnectFailed) -> None:
        srv = self.app.servers.get(e.server_id)
        if srv is not None:
            srv.state = "failed"
        self.app.rooms_page.busy("")
        self.app.banner.show(f"{e.reason}. {e.hint}", f"server {e.server_id}")
        self.app.set_status("Not connected.")

    def on_message_received(self, e: ev.MessageReceived) -> None:
        kind = "private" if e.private else "room"
        name = e.target or e.nick
        line = format_message(
            nick=e.nick or self.app.servers[e.server_id].label,
            ip=e.ip,
            text=e.text,
            time_ms=e.time_ms,
            own=e.own,
            kind=e.kind,
            highlight=e.highlight,
            msgid=e.msgid or "",
        )
        self.app.add_line(e.server_id, name, kind, line, counts=not e.history, history=e.history)

    def on_message_redacted(self, e: ev.MessageRedacted) -> None:
        conv = self.app.model.get(e.server_id, e.target)
        if conv is not None and conv.redact(e.msgid):
            self.app.redraw(conv.key)

    def on_joined(self, e: ev.Joined) -> None:
        if e.own:
            conv, _ = self.app.model.ensure(e.server_id, e.room, "room")
            conv.joined = True
            conv.history_at = len(conv.lines)  # the history asked for on join goes above
            self.app.joins.joined(e.server_id, e.room)
            self.app.show_tab(conv)
            self.app.note(e.server_id, e.room, f"You joined {e.room}.")
            self.app.input.entry.focus_set()
        else:
            who = f"{e.nick} ({e.ip})" if e.ip else e.nick
            self.app.note(e.server_id, e.room, f"{who} joined.")

    def on_parted(self, e: ev.Parted) -> None:
        if e.own:
            self._left(e.server_id, e.room, f"You left {e.room}{_why(e.reason)}.")
        else:
            self.app.note(e.server_id, e.room, f"{e.nick} left{_why(e.reason)}.")

    def on_kicked(self, e: ev.Kicked) -> None:
        why = _why(e.reason)
        if e.own:
            text = f"{e.by} removed you from {e.room}{why}. /join {e.room} to go back."
            self._left(e.server_id, e.room, text, tag="error")
        else:
            self.app.note(e.server_id, e.room, f"{e.by} removed {e.nick}{why}.")

    def _left(self, server_id: str, room: str, text: str, *, tag: str = "event") -> None:
        # We are out of the room: its tab and transcript stay, but it no longer counts as
        # joined (choosing the room again rejoins it; closing the tab sends no PART).
        conv = self.app.model.get(server_id, room)
        self.app.joins.mark_joined(server_id, room, False)
        if conv is not None:
            conv.joined = False
            conv.set_members(())
            self.refresh_members(conv)
        self.app.note(server_id, room, text, tag=tag)

    def on_user_quit(self, e: ev.UserQuit) -> None:
        for room in e.rooms:
            self.app.note(e.server_id, room, f"{e.nick} quit{_why(e.reason)}.")

    def on_nick_changed(self, e: ev.NickChanged) -> None:
        if e.own:
            self.app.model.nicks[e.server_id] = e.new
            self.app.servers[e.server_id].nick = e.new
            self.app.remember(nick=e.new)  # the server agreed: remembered from now on
            self.app.banner.hide(f"nick {e.server_id}")
            self.app.set_status(self.app.connected_status(e.server_id))
        old_key = conversation_key(e.server_id, e.old)
        touched = self.app.model.rename_nick(e.server_id, e.old, e.new, own=e.own)
        moved = self.app.model.get(e.server_id, e.new)
        if old_key in self.app.views and moved is not None and moved.key != old_key:
            self.app.views[moved.key] = self.app.views.pop(old_key)
            self.app.dirty.add(moved.key)
        text = f"You are now {e.new}." if e.own else f"{e.old} is now {e.new}."
        for conv in touched:
            self.app.note(e.server_id, conv.name, text)
            self.refresh_members(conv)
        if e.own and not touched:
            self.app.note_server(e.server_id, text)

    def on_topic_changed(self, e: ev.TopicChanged) -> None:
        conv, _ = self.app.model.ensure(e.server_id, e.room, "room")
        conv.topic = e.topic
        self.app.ensure_view(conv).set_topic(e.topic)
        if e.live:  # the topic on join is in the bar; the transcript tells changes only
            said = f'"{e.topic}"' if e.topic else "nothing"
            self.app.note(e.server_id, e.room, f"{e.setter} set the topic to {said}.")

    def on_members_changed(self, e: ev.MembersChanged) -> None:
        conv, _ = self.app.model.ensure(e.server_id, e.room, "room")
        conv.set_members((m.prefixes, m.nick, m.ip, m.away) for m in e.members)
        self.refresh_members(conv)

    def refresh_members(self, conv: Conversation) -> None:
        view = self.app.views.get(conv.key)
        if view is not None and conv.kind == "room":
            own = self.app.model.nicks.get(conv.server_id, "")
            me = conv.members.get(casefold(own))
            can_moderate = me is not None and any(p in "~&@%" for p in me.prefixes)
            view.set_members(conv.member_list(own), can_moderate=can_moderate)

    def on_away_changed(self, e: ev.AwayChanged) -> None:
        if e.own:
            text = f"You are away: {e.message}" if e.away else "You are back."
            self.app.note_server(e.server_id, text)

    def on_server_notice(self, e: ev.ServerNotice) -> None:
        # Before registration these are the LUSERS counts and the MOTD: noise nobody asked
        # for, kept out of sight unless the server's own tab is open (a manual connection
        # without a room). Later ones answer something typed (/whois): shown where we are.
        srv = self.app.servers.get(e.server_id)
        if srv is None:
            return
        if srv.state == "connected":
            self.app.note_server(e.server_id, e.text)
        elif self.app.model.get(e.server_id, srv.label) is not None:
            self.app.note(e.server_id, srv.label, e.text)

    def on_server_error(self, e: ev.ServerError) -> None:
        if e.code == "discovery":  # the room browser could not start (server_id is "")
            self.app.rooms_page.show_problem(f"{e.text}. {e.hint}.")
            return
        if e.code == "475" and self.app.joins.ask_key_again(e.server_id, e.subject):
            return  # the key dialog says it, and the room tab was never opened
        text = e.hint or e.text
        self.app.note_server(e.server_id, text, tag="error")
        self.app.set_status(text)
        if e.code in BANNER_CODES:
            self.app.banner.show(text, f"{BANNER_CODES[e.code]} {e.server_id}")

    def on_logged_in(self, e: ev.LoggedIn) -> None:
        self.app.accounts.logged_in(e)

    def on_share_progress(self, e: ev.ShareProgress) -> None:
        self.app.shares.progress(e.share_id, e.sent, e.total)

    def on_share_finished(self, e: ev.ShareFinished) -> None:
        self.app.shares.remove(e.share_id)
        self.app.share_servers.pop(e.share_id, None)
        if e.error and e.error != ev.SHARE_CANCELLED:
            self.app.note(e.server_id, e.target, f"{e.name} was not sent: {e.error}", tag="error")

    def on_thumbnail_ready(self, e: ev.ThumbnailReady) -> None:
        views = self.app.views
        keys = [key for key, conv in self.app.model.conversations.items()
                if conv.server_id == e.server_id and key in views]  # fmt: skip
        self.app.previews.ready(e, (views[key].text for key in keys))

    def on_history_loaded(self, e: ev.HistoryLoaded) -> None:
        conv = self.app.model.get(e.server_id, e.target)
        if conv is not None:
            conv.history_at = None  # later history (scrolling back) is older still
            if conv.read_ms and not self.app.model.is_seen(conv):
                self._read_up_to(conv, conv.read_ms)  # what came since we last read it

    def on_search_results(self, e: ev.SearchResults) -> None:
        view = self.app.views.get(conversation_key(e.server_id, e.target))
        if view is not None and view.search is not None:
            view.search.show_results(e.hits)

    def on_context_loaded(self, e: ev.ContextLoaded) -> None:
        conv = self.app.model.get(e.server_id, e.target)
        if conv is None:
            return
        own = casefold(self.app.model.nicks.get(e.server_id, ""))
        conv.insert_context(context_line(hit, own=casefold(hit.nick) == own) for hit in e.hits)
        if conv.index_of(e.msgid) is not None:  # not deleted meanwhile
            self.app.jump_to(conv.key, e.msgid)

    def on_read_marker(self, e: ev.ReadMarker) -> None:
        conv = self.app.model.get(e.server_id, e.target)
        if conv is None:
            return
        if self.app.model.is_seen(conv):
            conv.read_ms = max(conv.read_ms, e.time_ms)
        else:
            self._read_up_to(conv, e.time_ms)

    def _read_up_to(self, conv: Conversation, time_ms: int) -> None:
        """The account read `conv` up to `time_ms`: recount its badge and put "New messages"
        above the first message after that (or take it away when nothing is left)."""
        conv.read_up_to(time_ms)
        conv.marked = conv.unread > 0
        self.app.redraw(conv.key)
        self.app.dirty.add(conv.key)


def _why(reason: str) -> str:
    """ " (reason)" to follow "left", "quit" or "removed", or "" when none was given."""
    return f" ({reason})" if reason else ""


# Client event type -> what it does to the window (Incoming.apply): keyed by the type itself,
# so grep, mypy and a renamed event class all see the link (issue 19).
HANDLERS: dict[type[Any], Callable[[Incoming, Any], None]] = {
    ev.Connecting: Incoming.on_connecting,
    ev.Registered: Incoming.on_registered,
    ev.Disconnected: Incoming.on_disconnected,
    ev.ConnectFailed: Incoming.on_connect_failed,
    ev.MessageReceived: Incoming.on_message_received,
    ev.MessageRedacted: Incoming.on_message_redacted,
    ev.Joined: Incoming.on_joined,
    ev.Parted: Incoming.on_parted,
    ev.Kicked: Incoming.on_kicked,
    ev.UserQuit: Incoming.on_user_quit,
    ev.NickChanged: Incoming.on_nick_changed,
    ev.TopicChanged: Incoming.on_topic_changed,
    ev.MembersChanged: Incoming.on_members_changed,
    ev.AwayChanged: Incoming.on_away_changed,
    ev.ServerNotice: Incoming.on_server_notice,
    ev.ServerError: Incoming.on_server_error,
    ev.LoggedIn: Incoming.on_logged_in,
    ev.HistoryLoaded: Incoming.on_history_loaded,
    ev.ReadMarker: Incoming.on_read_marker,
    ev.SearchResults: Incoming.on_search_results,
    ev.ContextLoaded: Incoming.on_context_loaded,
    ev.ShareProgress: Incoming.on_share_progress,
    ev.ShareFinished: Incoming.on_share_finished,
    ev.ThumbnailReady: Incoming.on_thumbnail_ready,
}
