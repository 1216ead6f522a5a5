"""MonitorTable: who watches which nick (MONITOR), for notices when that nick comes and goes.

Layer: pure server core; may import lanchat.protocol and lanchat.server.{model,context}.
No I/O. The MONITOR command itself is lanchat.server.handlers.monitor.
Spec: https://ircv3.net/specs/extensions/monitor and
https://ircv3.net/specs/extensions/extended-monitor.

A watched nick need not be online, so the table is keyed by casefolded nick, not by user; a
connection's own list goes with it when it leaves (`forget`). Both directions are kept so
that a notice costs one lookup and a QUIT one pass over the leaver's own list.
"""

from __future__ import annotations

from collections.abc import Iterable

from lanchat.protocol import numerics as n
from lanchat.protocol.message import Message
from lanchat.server.context import Context
from lanchat.server.model import User

__all__ = ["MonitorTable", "notify_offline", "notify_online", "with_extended_monitor"]


class MonitorTable:
    """Watched nick -> watchers, and watcher -> the nicks it watches (as it spelled them)."""

    __slots__ = ("_lists", "_watchers")

    def __init__(self) -> None:
        self._watchers: dict[str, dict[int, User]] = {}  # nick key -> conn_id -> watcher
        self._lists: dict[int, dict[str, str]] = {}  # conn_id -> nick key -> nick as given

    def add(self, watcher: User, key: str, nick: str) -> None:
        """`watcher` now watches the nick whose casefolded form is `key`."""
        self._watchers.setdefault(key, {})[watcher.conn_id] = watcher
        self._lists.setdefault(watcher.conn_id, {})[key] = nick

    def remove(self, watcher: User, key: str) -> None:
        """`watcher` stops watching `key` (nothing happens if it did not)."""
        watching = self._lists.get(watcher.conn_id)
        if watching is None or watching.pop(key, None) is None:
            return
        if not watching:
            del self._lists[watcher.conn_id]
        watchers = self._watchers[key]
        del watchers[watcher.conn_id]
        if not watchers:
            del self._watchers[key]

    def forget(self, watcher: User) -> None:
        """Empty `watcher`'s list (MONITOR C, or the connection is gone)."""
        for key in list(self._lists.get(watcher.conn_id, ())):
            self.remove(watcher, key)

    def watching(self, watcher: User) -> dict[str, str]:
        """The nicks `watcher` watches: key -> the nick as it was given. Do not mutate."""
        return self._lists.get(watcher.conn_id, {})

    def watchers(self, key: str) -> list[User]:
        """The users watching the nick `key`."""
        return list(self._watchers.get(key, {}).values())


def _notify(ctx: Context, watchers: Iterable[User], numeric: str, target: str) -> None:
    # "<client>" differs per watcher, so each gets its own line; watchers of a nick are few.
    server = ctx.server_name
    ctx.fanout(watchers, lambda u: u.nick, lambda nick: Message(numeric, (nick, target), server))


def notify_online(ctx: Context, user: User) -> None:
    """RPL_MONONLINE (730) to whoever watches `user`'s nick: it registered or took the nick.

    Args:
        ctx: the event's context.
        user: the registered user now holding the nick.
    """
    _notify(ctx, ctx.state.monitors.watchers(user.key), n.RPL_MONONLINE, user.source)


def notify_offline(ctx: Context, nick: str, key: str) -> None:
    """RPL_MONOFFLINE (731) to whoever watches `nick`: its holder quit or changed nick.

    Args:
        ctx: the event's context.
        nick: the nick as it was held.
        key: its casefolded form.
    """
    _notify(ctx, ctx.state.monitors.watchers(key), n.RPL_MONOFFLINE, nick)


def with_extended_monitor(ctx: Context, user: User, cap: str, others: Iterable[User]) -> list[User]:
    """`others` and the watchers of `user` that enabled extended-monitor and `cap`, each once.

    ircv3 extended-monitor: a client that monitors a nick gets its AWAY (with away-notify),
    SETNAME (with setname) and ACCOUNT (with account-notify) lines as if it shared a room
    with it.

    Args:
        ctx: the event's context.
        user: the user the notice is about.
        cap: the capability the notice needs ("away-notify", "setname", "account-notify").
        others: the recipients already chosen (room neighbours with `cap`).

    Returns:
        The recipients, never `user` itself.
    """
    chosen = {u.conn_id: u for u in others}
    for watcher in ctx.state.monitors.watchers(user.key):
        if watcher is not user and watcher.has("extended-monitor") and watcher.has(cap):
            chosen.setdefault(watcher.conn_id, watcher)
    return list(chosen.values())
