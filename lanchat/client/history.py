"""History for the client: CHATHISTORY requests, chathistory batches and the reconnect gap.

Layer: SANS-I/O client core. Imports the standard library, lanchat.protocol and lanchat.client
(events, state, wire) only: no sockets, no asyncio.

Specs followed:
- CHATHISTORY (LATEST, BEFORE, AFTER, TARGETS): https://ircv3.net/specs/extensions/chathistory
- batch (nested batches, the chathistory batch type): https://ircv3.net/specs/extensions/batch
- msgid (de-duplication): https://ircv3.net/specs/extensions/message-ids

What we saw last in each conversation (`last_seen`) and the msgids already shown outlive a
connection, so that a rejoin asks only for the gap (CHATHISTORY AFTER) and messages seen twice
are dropped. The requests and batches in flight are forgotten by `reset()`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from lanchat.client import multiline
from lanchat.client.events import (
    ClientEvent,
    ContextLoaded,
    HistoryLoaded,
    SearchHit,
    SearchResults,
)
from lanchat.client.state import NetworkState
from lanchat.client.wire import Send, format_time, sender, time_ms
from lanchat.protocol import Message
from lanchat.protocol.casemap import is_valid_nick
from lanchat.protocol.message import escape_tag_value

__all__ = ["HISTORY_LIMIT", "History", "HistoryBatch"]

HISTORY_LIMIT = 100  # messages asked for on the first join of a room, and per page of a gap

_MAX_SEEN_MSGIDS = 50_000  # msgids remembered for de-duplication (oldest forgotten first)
_MAX_GAP_TARGETS = 50  # private conversations caught up after a reconnect
_TARGETS_SPAN_MS = 366 * 24 * 3600 * 1000  # TARGETS end bound: "until now" on any clock
_MAX_BATCH_DEPTH = 10  # nesting followed to find a chathistory batch (a server could loop)
_HISTORY_BATCH_TYPES = ("chathistory", "draft/chathistory")
SEARCH_BATCH = "soju.im/search"
CONTEXT_LIMIT = 10  # messages shown around a search hit
_MAX_MULTILINE_LINES = 1000  # lines kept of one received multiline batch (a server could flood)


@dataclass(slots=True)
class HistoryBatch:
    """A batch the server opened (BATCH +<id>), with the messages collected in it."""

    kind: str  # the batch type, e.g. "chathistory"
    target: str  # for chathistory: the room or nick it is about
    parent: str | None  # the batch this one is nested in
    events: list[ClientEvent] = field(default_factory=list)
    received: int = 0  # messages in the batch, duplicates included (for paging)
    last_msgid: str | None = None  # msgid of the batch's last message, duplicates included
    opening: Message | None = None  # the BATCH +<id> line (a multiline batch's tags are on it)
    lines: list[Message] = field(default_factory=list)  # a multiline batch's PRIVMSGs
    around: str | None = None  # the msgid a CHATHISTORY AROUND batch is the context of
    messages: list[Message] = field(default_factory=list)  # search and context batches' own

    @property
    def found(self) -> bool:
        """A search or context batch: its messages are listed, not shown in the transcript."""
        return self.kind == SEARCH_BATCH or self.around is not None

    def add(self, msg: Message, events: list[ClientEvent]) -> None:
        """Collect one message of the batch and the events it gave (none for a duplicate)."""
        self.received += 1
        self.last_msgid = msg.tags.get("msgid", self.last_msgid)
        self.events.extend(events)
        if self.found:
            self.messages.append(msg)


class History:
    """The history side of a session: what was seen, and the CHATHISTORY requests in flight."""

    def __init__(self, state: NetworkState, send: Send) -> None:
        """Create the history of a new session.

        Args:
            state: the connection's state (casefolding, CHANTYPES, our rooms).
            send: queues one line for the server, e.g. send("CHATHISTORY", "LATEST", ...).
        """
        self.state = state
        self._send = send
        self.last_seen: dict[str, tuple[str | None, int]] = {}  # target key -> (msgid, time_ms)
        self._seen_msgids: OrderedDict[str, None] = OrderedDict()  # for echo/history dedupe
        self.reset()

    def reset(self) -> None:
        """Forget the requests and batches of the previous connection (not what we saw)."""
        self._batches: dict[str, HistoryBatch] = {}
        self._filling_gaps: set[str] = set()  # target keys with a CHATHISTORY AFTER in flight
        self._pending: list[str] = []  # targets of unanswered CHATHISTORY, oldest first
        self._gap_start_ms = 0  # after a reconnect: the newest message seen before the drop
        self._around: dict[str, str] = {}  # target key -> msgid of the AROUND asked for
        self._searches: list[str] = []  # targets of unanswered SEARCHes, oldest first

    # ------------------------------------------------------------------ what we saw

    def is_duplicate(self, msgid: str) -> bool:
        """True if a message with `msgid` was shown already; otherwise remember it."""
        if msgid in self._seen_msgids:
            return True
        self._seen_msgids[msgid] = None
        if len(self._seen_msgids) > _MAX_SEEN_MSGIDS:
            self._seen_msgids.popitem(last=False)
        return False

    def saw(self, target: str, msgid: str | None, time_ms: int) -> None:
        """Note a message in `target`: a rejoin asks for what came after the newest one."""
        key = self.state.fold(target)
        # Older pages (RequestHistory BEFORE) must not move the reconnect point back.
        if time_ms >= self.last_seen.get(key, (None, 0))[1]:
            self.last_seen[key] = (msgid, time_ms)

    # ------------------------------------------------------------------ requests

    def request(self, target: str, before_msgid: str | None, limit: int) -> None:
        """Ask for `limit` messages of `target` before `before_msgid` (None: the latest)."""
        if before_msgid:
            self._ask("BEFORE", target, f"msgid={before_msgid}", limit)
        else:
            self._ask("LATEST", target, "*", limit)

    def around(self, target: str, msgid: str, limit: int = CONTEXT_LIMIT) -> None:
        """Ask for the messages of `target` around `msgid` (ContextLoaded)."""
        self._around[self.state.fold(target)] = msgid
        self._ask("AROUND", target, f"msgid={msgid}", limit)

    def search(self, target: str, text: str, limit: int = HISTORY_LIMIT) -> None:
        """Ask for the messages of `target` holding the words of `text` (SearchResults)."""
        self._searches.append(target)
        query = f"in={escape_tag_value(target)};text={escape_tag_value(text)};limit={limit}"
        self._send("SEARCH", query)

    def after_join(self, room: str) -> None:
        """Ask for what we missed in `room`: after the last message we saw there (a rejoin
        after a reconnect), or the latest HISTORY_LIMIT messages on the first join."""
        if self.state.fold(room) in self.last_seen:
            self._fill_gap(room, 0)
        else:
            self._ask("LATEST", room, "*", HISTORY_LIMIT)

    def after_registration(self) -> None:
        """On a reconnect, find the private conversations that moved while we were away."""
        if not self.last_seen:
            return
        # Rooms fill their gaps when rejoined; private conversations are found with TARGETS,
        # from the newest message we saw. The end bound is far ahead because our clock need
        # not agree with the server's.
        self._gap_start_ms = max(time_ms for _, time_ms in self.last_seen.values())
        start = format_time(self._gap_start_ms)
        end = format_time(self._gap_start_ms + _TARGETS_SPAN_MS)
        self._send(
            "CHATHISTORY",
            "TARGETS",
            f"timestamp={start}",
            f"timestamp={end}",
            str(_MAX_GAP_TARGETS),
        )

    def _fill_gap(self, target: str, since_ms: int) -> None:
        """Ask for what `target` got after the last message we saw there (or, for a
        conversation we never saw, after `since_ms`)."""
        key = self.state.fold(target)
        msgid, time_ms = self.last_seen.get(key, (None, since_ms))
        bound = f"msgid={msgid}" if msgid else f"timestamp={format_time(time_ms)}"
        self._filling_gaps.add(key)
        self._ask("AFTER", target, bound, HISTORY_LIMIT)

    def _ask(self, subcommand: str, target: str, bound: str, limit: int) -> None:
        self._pending.append(self.state.fold(target))
        self._send("CHATHISTORY", subcommand, target, bound, str(limit))

    # ------------------------------------------------------------------ replies

    def on_chathistory(self, msg: Message) -> list[ClientEvent]:
        """CHATHISTORY TARGETS <target> <latest timestamp>, one per conversation with news."""
        if len(msg.params) >= 2 and msg.params[0].upper() == "TARGETS":
            target = msg.params[1]
            # Rooms fill their own gaps when rejoined; anything else must be a nick.
            if not self.state.is_room(target) and is_valid_nick(target, nicklen=len(target)):
                self._fill_gap(target, self._gap_start_ms)
        return []

    def batch_of(self, msg: Message) -> HistoryBatch | None:
        """The chathistory batch a PRIVMSG or NOTICE belongs to (directly or nested), if any."""
        current = msg.tags.get("batch")
        if not current or msg.verb not in ("PRIVMSG", "NOTICE"):
            return None
        for _ in range(_MAX_BATCH_DEPTH):
            batch = self._batches.get(current)
            if batch is None:
                return None
            if batch.kind in (*_HISTORY_BATCH_TYPES, SEARCH_BATCH):
                return batch
            if batch.parent is None:
                return None
            current = batch.parent
        return None

    def collect_multiline(self, msg: Message) -> bool:
        """Keep a line of a draft/multiline batch for `take_multiline`; False for any other."""
        batch = self._batches.get(msg.tags.get("batch", ""))
        if batch is None or batch.kind != multiline.BATCH_TYPE:
            return False
        if len(batch.lines) < _MAX_MULTILINE_LINES:
            batch.lines.append(msg)
        return True

    def take_multiline(self, msg: Message) -> Message | None:
        """At BATCH -<id> of a draft/multiline batch: its lines joined into one message,
        tagged like the opening BATCH (so one nested in a chathistory batch stays in it)."""
        ref = msg.params[0] if msg.params else ""
        batch = self._batches.get(ref[1:]) if ref.startswith("-") else None
        if batch is None or batch.kind != multiline.BATCH_TYPE or batch.opening is None:
            return None
        del self._batches[ref[1:]]
        return multiline.join_lines(batch.opening, batch.lines)

    def on_batch(self, msg: Message) -> list[ClientEvent]:
        """BATCH +<id> <type> [params...] ... BATCH -<id>: a chathistory batch's messages are
        given all at once when it ends, followed by HistoryLoaded."""
        if not msg.params:
            return []
        ref = msg.params[0]
        if ref.startswith("+") and len(msg.params) >= 2:
            target = msg.params[2] if len(msg.params) > 2 else ""
            opened = HistoryBatch(msg.params[1], target, msg.tags.get("batch"), opening=msg)
            if opened.kind in _HISTORY_BATCH_TYPES:
                opened.around = self._around.pop(self.state.fold(target), None)
            self._batches[ref[1:]] = opened
            return []
        batch = self._batches.pop(ref.lstrip("-"), None)
        if batch is not None and batch.kind == SEARCH_BATCH:
            target = self._searches.pop(0) if self._searches else ""
            return [SearchResults(self.state.server_id, target, self._hits(batch))]
        if batch is None or batch.kind not in _HISTORY_BATCH_TYPES:
            return []
        key = self.state.fold(batch.target)
        if key in self._pending:
            self._pending.remove(key)
        if batch.around is not None:
            hits = self._hits(batch)
            return [ContextLoaded(self.state.server_id, batch.target, batch.around, hits)]
        full_page = batch.received >= HISTORY_LIMIT and batch.last_msgid is not None
        still_there = key in self.state.rooms or not self.state.is_room(batch.target)
        if key in self._filling_gaps and full_page and still_there:
            # A full page of a gap after a reconnect: there may be more; ask for the next page.
            self._ask("AFTER", batch.target, f"msgid={batch.last_msgid}", HISTORY_LIMIT)
        else:
            self._filling_gaps.discard(key)
        events: list[ClientEvent] = list(batch.events)
        events.append(HistoryLoaded(self.state.server_id, batch.target, len(batch.events)))
        return events

    def _hits(self, batch: HistoryBatch) -> tuple[SearchHit, ...]:
        """The messages of a search or context batch, as listed (an action as "* nick ...")."""
        hits = []
        for msg in batch.messages:
            if len(msg.params) < 2:
                continue
            nick, text = sender(msg).nick, msg.params[1]
            if text.startswith("\x01ACTION "):
                text = f"* {nick} {text[8:].rstrip(chr(1))}"
            when = time_ms(msg, self.state.clock)
            hits.append(SearchHit(msg.tags.get("msgid", ""), when, nick, text))
        return tuple(hits)

    def failed(self) -> list[ClientEvent]:
        """The oldest history request was refused: it ends with no messages (history is a
        nicety; the room works without it, so this is not shown as an error)."""
        if not self._pending:
            return []
        key = self._pending.pop(0)
        self._filling_gaps.discard(key)
        room = self.state.rooms.get(key)
        return [HistoryLoaded(self.state.server_id, room.name if room else key, 0)]
