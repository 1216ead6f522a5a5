"""The settings the nodes of a cluster must share, as digests a node's hello carries (issue 20).

Layer: pure (hashlib, json and lanchat.config only): a Config in, digests out, tested by
plain calls. lanchat.cluster.replica compares them when it applies a hello; lanchat.cluster.node
computes this node's (off the event loop: one is an scrypt hash) and says what to do when they
are refused. docs/cluster.md, "Nodes configured differently", has the rule.

Every node runs the same core on the same log, so a setting the core reads to decide what a
line does must be the same on every node, or the replicas drift apart (one node's NICK of 31
characters is another's 432). Those settings, read off lanchat.server.state and its handlers:

    [limits]     nicklen, channellen, topiclen, max_targets, ping and registration timeouts,
                 max_rooms, the auth-failure throttle... (the whole section, see below)
    [accounts]   registration, nick_grace_s
    [opers]      who may OPER, with which password hash
    --password   ([server] password) whether a client must send PASS, and which

Policies a reader might question:

- Digests, never the settings: the log is on Redis's disk (docs/cluster.md). The server password
  is hashed with scrypt (the cost lanchat.passwords gives a stored password), salted with the
  cluster's id, so its digest is no easier to guess from than an account's stored hash; the
  others are SHA-256 of their canonical JSON ([opers] holds scrypt hashes already).
- The whole [limits] section, although a few of its settings act at the edge only (sendq_bytes,
  max_connections, max_line_bytes: lines over it reach the log as "over-long" already): one
  rule the host can follow ("the same [limits] everywhere", as docs/cluster.md always said)
  beats a list of exceptions that grows with every new limit.
- Not checked, because the core reads them only to present things to a node's own clients or
  each node has its own by design: [server] name, network and motd, the rooms and their key
  (each node's hello opens its own), [files] (its upload tokens are the origin's alone),
  [flood] (before the log), ports, TLS, [web], [store], [discovery].
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping

from lanchat.config import Config

__all__ = ["SECTIONS", "differing", "digests", "refusal"]

# What the host would call each checked part of the configuration, in the order it is named.
SECTIONS = {
    "limits": "[limits]",
    "accounts": "[accounts]",
    "opers": "[opers]",
    "password": "--password ([server] password)",
}

# scrypt as lanchat.passwords.DEFAULT_PARAMS (N = 2**14, r = 8: 16 MiB, tens of milliseconds).
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 1 << 14, 8, 1
_SCRYPT_MAXMEM = 128 * _SCRYPT_R * _SCRYPT_N * 2 + (1 << 20)


def digests(config: Config, cluster_id: str) -> dict[str, str]:
    """This node's digest of each checked part of its configuration. Never on the event loop.

    Args:
        config: this node's configuration.
        cluster_id: the cluster's random id (the server password's salt).

    Returns:
        {part: hex digest}, one for each key of SECTIONS.
    """
    salt = f"lanchat cluster {cluster_id} server password".encode()
    password = hashlib.scrypt(
        config.server.password.encode(),
        salt=salt,
        n=_SCRYPT_N,
        r=_SCRYPT_R,
        p=_SCRYPT_P,
        maxmem=_SCRYPT_MAXMEM,
    )
    return {
        "limits": _sha256(dataclasses.asdict(config.limits)),
        "accounts": _sha256(dataclasses.asdict(config.accounts)),
        "opers": _sha256(config.opers),
        "password": password.hex(),
    }


def differing(mine: Mapping[str, str], theirs: Mapping[str, str]) -> list[str]:
    """The parts whose digests differ between `mine` and `theirs`, in SECTIONS' order.

    A part a hello does not carry (a lanchat that did not know it) is not compared.
    """
    return [
        part for part in SECTIONS if part in mine and part in theirs and mine[part] != theirs[part]
    ]


def refusal(others: Mapping[int, Iterable[str]]) -> str:
    """What the host of a refused node is told: what differs, and the two ways out.

    Args:
        others: the running nodes whose settings differ, each with the parts that do.
    """
    differ = {part for parts in others.values() for part in parts}
    names = [name for part, name in SECTIONS.items() if part in differ]
    what = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    which = ("node " if len(others) == 1 else "nodes ") + ", ".join(map(str, sorted(others)))
    return (
        f"this node's settings differ from those of the cluster's running nodes ({which}) "
        f"in {what}, and the nodes of a cluster must decide every line alike: start it with "
        "the same settings as theirs, or stop every node to change these settings"
    )


def _sha256(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
