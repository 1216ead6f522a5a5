"""The cluster bus, as the hub sees it: the one small interface (issue 20).

Layer: pure typing; imports the server's effects only for their names.

A hub without a bus feeds its core directly (one server). With `lanchat serve --cluster` the
bus is lanchat.cluster.node.RedisBus: each event of this node's connections goes to the
cluster's log, and the core hears of it, as every node's core does, when it comes back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from lanchat.protocol.lines import TooLong
    from lanchat.server.effects import Password

__all__ = ["Bus"]


class Bus(Protocol):
    """Where a cluster node's hub sends what its connections do. Loop thread only."""

    def connect(self, conn_id: int, ip: str, filehost: str) -> None:
        """A connection was accepted from `ip`; `filehost` is its upload URL, or ""."""

    def line(self, conn_id: int, line: bytes | TooLong) -> None:
        """The connection sent one line (past its flood control), or one over the limits."""

    def disconnected(self, conn_id: int, reason: str) -> None:
        """The connection is gone; `reason` is the QUIT reason."""

    def password_done(self, effect: Password, ok: bool, detail: str, scram: str) -> None:
        """The hub checked or hashed the password of a Password effect of its own client
        (`scram`: a new account's SCRAM-SHA-256 keys, "" for none)."""

    def tick(self) -> None:
        """About a second passed (the app's tick)."""
