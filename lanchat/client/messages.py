"""Conversation messages: PRIVMSG, NOTICE and CTCP ACTION, received and sent.

Layer: SANS-I/O client core. Imports the standard library, lanchat.protocol and lanchat.client
(events, state, history, wire) only: no sockets, no asyncio.

Specs followed:
- PRIVMSG, NOTICE and the 512-byte line: https://modern.ircdocs.horse/#privmsg-message and
  https://modern.ircdocs.horse/#message-format
- STATUSMSG ("@#room"): https://modern.ircdocs.horse/#statusmsg-parameter
- CTCP ACTION: https://modern.ircdocs.horse/ctcp.html#action
- echo-message, msgid, server-time: https://ircv3.net/irc/

A received message becomes a MessageReceived named after its conversation (the room, or the
other person), unless its msgid was shown already; what we send is split to fit the line limit.
"""

from __future__ import annotations

import functools
import re

from lanchat.client.events import (
    ClientEvent,
    MessageKind,
    MessageReceived,
    MessageRedacted,
    ServerNotice,
)
from lanchat.client.history import History
from lanchat.client.multiline import CONCAT, MultilineLimits, pieces
from lanchat.client.state import NetworkState
from lanchat.client.wire import Send, sender, time_ms
from lanchat.protocol import Message

__all__ = ["Messages", "split_text"]

_MAX_LINE_BYTES = 512  # the whole line, CRLF included (modern.ircdocs "Message format")
_MIN_CHUNK_BYTES = 16  # text per message however long the nick and target are
# Room for the server's ":nick!user@host " prefix: hosts are IP literals here, at most 39
# chars for IPv6, and we leave room for a longer hostname on other servers.
_HOST_ALLOWANCE = 64


def split_text(text: str, max_bytes: int) -> list[str]:
    """Split `text` into chunks that fit one message each.

    Each line of `text` is sent on its own; a line longer than `max_bytes` (UTF-8) is cut at
    the last space that fits, or at a character boundary when there is none. Empty lines are
    dropped (IRC cannot send an empty PRIVMSG, modern.ircdocs ERR_NOTEXTTOSEND).

    Args:
        text: what the person typed, possibly several lines.
        max_bytes: the most UTF-8 bytes one chunk may take (at least 4).

    Returns:
        The chunks in order.
    """
    chunks: list[str] = []
    for line in text.splitlines():
        rest = line
        while len(rest.encode("utf-8")) > max_bytes:
            cut = len(rest.encode("utf-8")[:max_bytes].decode("utf-8", "ignore"))
            space = rest.rfind(" ", 0, cut + 1)
            if space > 0:
                chunks.append(rest[:space])
                rest = rest[space + 1 :]
            else:
                chunks.append(rest[:cut])
                rest = rest[cut:]
        if rest.strip():
            chunks.append(rest)
    return chunks


class Messages:
    """Turns PRIVMSG and NOTICE lines into events, and what the person says into lines."""

    def __init__(self, state: NetworkState, history: History, send: Send) -> None:
        """Create the message side of a session.

        Args:
            state: the connection's state (our nick, casefolding, CHANTYPES, PREFIX).
            history: where messages are de-duplicated and the last one seen is noted.
            send: queues one line for the server, e.g. send("PRIVMSG", "#room", "hi").
        """
        self.state = state
        self.history = history
        self._send = send
        self._batches_sent = 0  # for a fresh reference per multiline batch

    def say(
        self,
        target: str,
        text: str,
        *,
        action: bool,
        user: str,
        echoed: bool,
        multiline: MultilineLimits | None = None,
    ) -> list[ClientEvent]:
        """Send `text` to `target` as PRIVMSG (or CTCP ACTION), split to fit the line limit.

        Args:
            target: a room or a nick.
            text: what the person typed, possibly several lines.
            action: send as CTCP ACTION ("/me").
            user: our USER name (part of the prefix the server adds).
            echoed: the server echoes our messages back (echo-message).
            multiline: the server's limits when it takes draft/multiline batches: several
                lines (not an action) within them go as one message; otherwise line by line.

        Returns:
            Our own messages as events when the server will not echo them; with echo-message
            the server's echo is the event, carrying its msgid and time.
        """
        nick = self.state.nick
        prefix = f":{nick}!{user}@{'x' * _HOST_ALLOWANCE} PRIVMSG {target} :\r\n"
        overhead = len(prefix.encode())
        if action:
            overhead += len("\x01ACTION \x01")
        kind: MessageKind = "action" if action else "privmsg"
        max_bytes = max(_MIN_CHUNK_BYTES, _MAX_LINE_BYTES - overhead)
        if multiline is not None and not action and len(text.strip("\r\n").splitlines()) > 1:
            lines = pieces(text, max_bytes)
            if multiline.allow(lines):
                return self._say_batch(target, text.strip("\r\n"), lines, echoed)
        events: list[ClientEvent] = []
        for chunk in split_text(text, max_bytes):
            self._send("PRIVMSG", target, f"\x01ACTION {chunk}\x01" if action else chunk)
            if not echoed:
                now_ms = int(self.state.clock() * 1000)
                events.append(self._event(target, nick, "", chunk, now_ms, None, kind, False))
        return events

    def _say_batch(
        self, target: str, text: str, lines: list[tuple[str, bool]], echoed: bool
    ) -> list[ClientEvent]:
        """Send `lines` as one draft/multiline message (the echo is one batch too).

        Raises:
            ProtocolError: a line cannot be sent (NUL); nothing is queued, so no batch is
                left open on the server.
        """
        for line, _ in lines:
            Message("PRIVMSG", (target, line)).to_line()
        self._batches_sent += 1
        ref = f"ml{self._batches_sent}"
        self._send("BATCH", f"+{ref}", "draft/multiline", target)
        for line, concat in lines:
            tags = {"batch": ref, CONCAT: ""} if concat else {"batch": ref}
            self._send("PRIVMSG", target, line, tags=tags)
        self._send("BATCH", f"-{ref}")
        if echoed:
            return []
        now_ms = int(self.state.clock() * 1000)
        return [self._event(target, self.state.nick, "", text, now_ms, None, "privmsg", False)]

    def on_privmsg(self, msg: Message) -> list[ClientEvent]:
        """PRIVMSG or NOTICE <target> <text>, received live."""
        return self.on_message(msg, history=False)

    def on_redact(self, msg: Message) -> list[ClientEvent]:
        """REDACT <target> <msgid> [<reason>]: someone deleted a message."""
        if len(msg.params) < 2:
            return []
        who = sender(msg)
        return [
            MessageRedacted(
                self.state.server_id,
                self._conversation(msg.params[0], who.nick),
                msg.params[1],
                who.nick,
            )
        ]

    def _conversation(self, raw_target: str, nick: str) -> str:
        """The conversation a message to `raw_target` from `nick` belongs to: the room, or
        the other person."""
        # STATUSMSG: "@#room" addresses the room's operators; it still belongs to the room.
        target = raw_target.lstrip(self.state.prefix_chars)
        if not self.state.is_room(target):
            # A conversation is named after the other side.
            target = raw_target if self.state.is_me(nick) else nick
        return target

    def on_message(self, msg: Message, *, history: bool) -> list[ClientEvent]:
        """PRIVMSG or NOTICE <target> <text>, live or (`history`) from a chathistory batch."""
        if len(msg.params) < 2:
            return []
        who = sender(msg)
        raw_target, text = msg.params[0], msg.params[1]
        # A server notice: no user source, or addressed to "*" before registration.
        if "!" not in (msg.source or "") and msg.verb == "NOTICE":
            return [ServerNotice(self.state.server_id, text)]
        kind: MessageKind = "privmsg" if msg.verb == "PRIVMSG" else "notice"
        if text.startswith("\x01"):
            ctcp, _, arg = text.strip("\x01").partition(" ")
            if ctcp.upper() != "ACTION" or msg.verb != "PRIVMSG":
                return []  # other CTCPs (VERSION, PING...) are not shown
            kind, text = "action", arg
        target = self._conversation(raw_target, who.nick)
        msgid = msg.tags.get("msgid")
        if msgid is not None and self.history.is_duplicate(msgid):
            return []
        when = time_ms(msg, self.state.clock)
        return [self._event(target, who.nick, who.host, text, when, msgid, kind, history)]

    def _event(
        self,
        target: str,
        nick: str,
        ip: str,
        text: str,
        when_ms: int,
        msgid: str | None,
        kind: MessageKind,
        history: bool,
    ) -> MessageReceived:
        state = self.state
        private = not state.is_room(target)
        own = state.is_me(nick)
        self.history.saw(target, msgid, when_ms)
        return MessageReceived(
            state.server_id,
            target=target,
            nick=nick,
            ip=ip,
            text=text,
            time_ms=when_ms,
            msgid=msgid,
            kind=kind,
            own=own,
            private=private,
            highlight=not own and (private or _mentions(state.fold(text), state.fold(state.nick))),
            history=history,
        )


def _mentions(text_folded: str, nick_folded: str) -> bool:
    """True if `text_folded` names `nick_folded` as a whole word (both casefolded alike)."""
    return _mention_pattern(nick_folded).search(text_folded) is not None


@functools.lru_cache(maxsize=64)
def _mention_pattern(nick_folded: str) -> re.Pattern[str]:
    # Word boundary by nick characters, not \b: "[bob]" and "bob_" are different nicks.
    nick_chars = r"[\w\[\]\\`^{|}-]"
    return re.compile(f"(?<!{nick_chars}){re.escape(nick_folded)}(?!{nick_chars})")
