"""MODE strings: parse a client's mode changes, apply them to room modes, render them back.

Layer: pure server core; may import lanchat.protocol and lanchat.server.model. Privileges and
membership are the MODE handler's business (lanchat.server.handlers.rooms): this module only
reads and changes a Room's mode fields and turns problems into values the handler reports.

Spec: https://modern.ircdocs.horse/#mode-message and https://modern.ircdocs.horse/#channel-modes.
lanchat's modes, as lanchat.protocol.isupport advertises them
(https://modern.ircdocs.horse/#chanmodes-parameter):

    PREFIX=(ov)@+        o = room operator, v = voice; each always takes a nick parameter
    CHANMODES=beI,k,l,imnst
      type A  b e I      list modes (bans, ban exceptions, invite exceptions): "+b mask" /
                         "-b mask" always take a mask; "+b" alone lists
      type B  k          key: "+k key" takes the key; "-k" takes one if given (ignored); a key
                         JOIN could not carry (spaces, commas, over 23 characters) is refused
      type C  l          limit: "+l N" takes a number; "-l" takes none
      type D  imnst      flags without a parameter
    MODES=6              at most this many parameter-taking changes in one MODE command
    user modes: i        invisible (hidden from WHO/NAMES of people who share no room)
                o        server operator: set by OPER only, removable with -o (issue 17)
                w        receives WALLOPS
                B        bot (https://ircv3.net/specs/extensions/bot-mode)

Grammar of the mode string (modern.ircdocs "MODE message")::

    modestring  =  1*( modeset )
    modeset     =  plusminus *( modechar )
    plusminus   =  %x2B / %x2D   ; "+" or "-"; a string that starts without one means "+"

A change that lacks its parameter is dropped silently, as most servers do (modern.ircdocs:
"the server SHOULD ignore it"); an unknown letter is reported once with 472 / 501.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from lanchat.config import room_key_problem
from lanchat.protocol.casemap import casefold
from lanchat.protocol.hostmask import normalize_mask
from lanchat.protocol.isupport import BOT_MODE
from lanchat.server.model import PREFIX_MODES, Room

__all__ = [
    "KEY_MODE",
    "LIMIT_MODE",
    "LIST_MODES",
    "MAX_KEY_CHARS",
    "ROOM_FLAG_MODES",
    "USER_MODES",
    "ModeChange",
    "ParsedModes",
    "apply_room_changes",
    "list_of",
    "parse_room_modes",
    "parse_user_modes",
    "render_changes",
    "room_mode_params",
]

ROOM_FLAG_MODES = "imnst"  # type D, in the order they are shown
LIST_MODES = "beI"  # type A: bans, ban exceptions (EXCEPTS), invite exceptions (INVEX)
KEY_MODE = "k"  # type B
LIMIT_MODE = "l"  # type C
USER_MODES = "iow" + BOT_MODE  # invisible, server operator (OPER only), wallops, bot
MAX_KEY_CHARS = 23  # the key length most servers accept (Hybrid KEYLEN); longer keys refused
MAX_LIMIT = 1_000_000  # +l values above this are clamped: a LAN room never gets near it


@dataclass(frozen=True, slots=True)
class ModeChange:
    """One requested or applied change: `+o alice`, `-k`, `+b` (a ban-list query)."""

    adding: bool
    mode: str  # one letter
    param: str | None = None  # nick, mask, key or number; None for flags and list queries


@dataclass(slots=True)
class ParsedModes:
    """What a MODE command asked for, before any permission check."""

    changes: list[ModeChange] = field(default_factory=list)  # in the order given
    unknown: list[str] = field(default_factory=list)  # letters we do not know, each once
    list_queries: list[str] = field(default_factory=list)  # list modes asked without a mask


def room_mode_params(room: Room, *, show_key: bool) -> tuple[str, ...]:
    """The modestring and its arguments for RPL_CHANNELMODEIS (324).

    Args:
        room: the room.
        show_key: False hides the key from people outside the room (they see "*"), as
            Hybrid and Ergo do.

    Returns:
        ("+ntkl", key, limit) style parameters; ("+",) when nothing is set.
    """
    args: list[str] = []
    if room.password:
        args.append(room.password if show_key else "*")
    if room.limit:
        args.append(str(room.limit))
    return (room.mode_string(), *args)


def _takes_param(mode: str, adding: bool) -> bool:
    if mode in PREFIX_MODES or mode in LIST_MODES or mode == KEY_MODE:
        return True
    return mode == LIMIT_MODE and adding


def parse_room_modes(params: Sequence[str], max_param_modes: int) -> ParsedModes:
    """Split `MODE #room <modestring> <args>...` into changes (after the room name).

    Args:
        params: the modestring and its arguments, e.g. ("+ok-l", "alice", "secret").
        max_param_modes: MODES= limit; parameter-taking changes beyond it are dropped.

    Returns:
        The changes in order, the unknown letters, and the list modes asked without a mask.
        "-k" without a key is a change with param None; "-k key" keeps the key as its param.
    """
    parsed = ParsedModes()
    if not params:
        return parsed
    args = list(params[1:])
    adding = True
    with_param = 0
    known = ROOM_FLAG_MODES + LIST_MODES + KEY_MODE + LIMIT_MODE + PREFIX_MODES
    for ch in params[0]:
        if ch in "+-":
            adding = ch == "+"
            continue
        if ch not in known:
            if ch not in parsed.unknown:
                parsed.unknown.append(ch)
            continue
        param: str | None = None
        if _takes_param(ch, adding):
            if not args:
                if ch in LIST_MODES:
                    if ch not in parsed.list_queries:
                        parsed.list_queries.append(ch)
                elif ch == KEY_MODE and not adding:
                    parsed.changes.append(ModeChange(False, ch))
                continue
            param = args.pop(0)
            with_param += 1
            if with_param > max_param_modes:
                continue
        parsed.changes.append(ModeChange(adding, ch, param))
    return parsed


def parse_user_modes(modestring: str) -> tuple[list[ModeChange], list[str]]:
    """Split a user modestring ("+i", "-i") into changes and unknown letters.

    Args:
        modestring: the first parameter after the nick in `MODE <nick> <modestring>`.

    Returns:
        (changes, unknown letters); the caller replies 501 once if any letter is unknown.
    """
    changes: list[ModeChange] = []
    unknown: list[str] = []
    adding = True
    for ch in modestring:
        if ch in "+-":
            adding = ch == "+"
        elif ch in USER_MODES:
            changes.append(ModeChange(adding, ch))
        elif ch not in unknown:
            unknown.append(ch)
    return changes, unknown


def apply_room_changes(
    room: Room, changes: Iterable[ModeChange], *, max_bans: int
) -> tuple[list[ModeChange], list[ModeChange]]:
    """Apply the room-wide changes (flags, k, l, b) to `room`; skip +o/+v.

    Changes that set what is already set, or unset what is not set, are dropped, so that the
    broadcast shows only what really changed.

    Args:
        room: the room; its modes, password, limit and bans are updated in place.
        changes: parsed changes; membership changes (o, v) are left to the caller.
        max_bans: MAXLIST for each of b, e and I; a mask beyond it is rejected.

    Returns:
        (applied, rejected). `applied` is in the form to broadcast: masks normalised, "-k *"
        for a removed key. `rejected` holds a +k or +l with an unusable parameter (the caller
        replies 696 ERR_INVALIDMODEPARAM) and a +b/+e/+I over the limit (478 ERR_BANLISTFULL).
    """
    applied: list[ModeChange] = []
    rejected: list[ModeChange] = []
    for change in changes:
        mode, adding, param = change.mode, change.adding, change.param
        if mode in ROOM_FLAG_MODES:
            if adding != (mode in room.modes):
                (room.modes.add if adding else room.modes.discard)(mode)
                applied.append(ModeChange(adding, mode))
        elif mode == KEY_MODE:
            if not adding:
                if room.password:
                    room.password = ""
                    applied.append(ModeChange(False, mode, "*"))
                continue
            key = param or ""
            # The rule the config's key obeys (lanchat.config.room_key_problem): JOIN could
            # not give a key with a space or a comma, so such a key would lock everyone out.
            if not key or room_key_problem(key):
                rejected.append(change)
            elif key != room.password:
                room.password = key
                applied.append(ModeChange(True, mode, key))
        elif mode == LIMIT_MODE:
            if not adding:
                if room.limit:
                    room.limit = 0
                    applied.append(ModeChange(False, mode))
                continue
            limit = int(param) if param and param.isdigit() else 0
            if limit <= 0:
                rejected.append(change)
            elif min(limit, MAX_LIMIT) != room.limit:
                room.limit = min(limit, MAX_LIMIT)
                applied.append(ModeChange(True, mode, str(room.limit)))
        elif mode in LIST_MODES and param is not None:
            masks = list_of(room, mode)
            mask = normalize_mask(param)
            mask_key = casefold(mask)
            present = next((b for b in masks if casefold(b) == mask_key), None)
            if adding and present is None:
                if len(masks) >= max_bans:
                    rejected.append(change)
                else:
                    masks.append(mask)
                    applied.append(ModeChange(True, mode, mask))
            elif not adding and present is not None:
                masks.remove(present)
                applied.append(ModeChange(False, mode, present))
    return applied, rejected


def list_of(room: Room, mode: str) -> list[str]:
    """The room's list for list mode `mode`: bans (b), ban exceptions (e), invite exceptions (I).

    Args:
        room: the room.
        mode: one letter of LIST_MODES.

    Returns:
        The room's own list (changing it changes the room).
    """
    return room.bans if mode == "b" else room.excepts if mode == "e" else room.invex


def render_changes(changes: Sequence[ModeChange]) -> tuple[str, ...]:
    """Render applied changes as MODE parameters: ("+o-v", "alice", "bob").

    Consecutive changes with the same sign share one "+" or "-".

    Args:
        changes: applied changes, in order.

    Returns:
        The modestring followed by the parameters of the changes that have one.
    """
    letters: list[str] = []
    args: list[str] = []
    sign = ""
    for change in changes:
        want = "+" if change.adding else "-"
        if want != sign:
            letters.append(want)
            sign = want
        letters.append(change.mode)
        if change.param is not None:
            args.append(change.param)
    return ("".join(letters), *args)
