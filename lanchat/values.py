"""`value`: a frozen dataclass to the type checker, built at the speed of a plain one.

Layer: standard library only; imported by lanchat.protocol, lanchat.store.records and
lanchat.server.effects, the data every message passes through (issue #4).

A frozen dataclass's `__init__` sets each field through `object.__setattr__`, a slow path
that made HistoryRecord 2.3 µs, Message 1.5 µs and Send 1.1 µs to build: about 6 µs of the
server's work per room message, on every message. `@value` makes a slotted dataclass with the
same fields, equality, repr and hash as `@dataclass(frozen=True, slots=True)`, whose
`__init__` is a plain one. Immutability is the type checker's to enforce (PEP 681
`frozen_default`; mypy --strict reports any assignment to a field); at run time an assignment
is not stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar, dataclass_transform

__all__ = ["value"]

T = TypeVar("T")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def value(cls: type[T]) -> type[T]:
    """Make `cls` a slotted, hashable dataclass that type checkers treat as frozen."""
    return dataclass(slots=True, unsafe_hash=True)(cls)
