"""Numerics shown to the person: refusals as ServerError events with plain words saying what to
do, other replies as server notices.

Layer: SANS-I/O client core. Imports the standard library, lanchat.protocol and
lanchat.client.events only.

Specs followed:
- Error numerics (4xx, 5xx) and their parameters: https://modern.ircdocs.horse/#numerics
- Standard replies (FAIL <command> <code>): https://ircv3.net/specs/extensions/standard-replies
"""

from __future__ import annotations

from lanchat.client.events import ClientEvent, ServerError, ServerNotice
from lanchat.protocol import Message

__all__ = [
    "error_text",
    "hint_for",
    "numeric_events",
    "server_error",
    "standard_reply_error",
]

# What to do about each refusal, in plain words (numerics: modern.ircdocs.horse "Numerics").
_HINTS = {
    "401": "Nobody with that nickname is here; check the spelling",
    "403": "There is no such room; room names start with #",
    "404": "You cannot talk in this room right now (join it first, or ask an operator for voice)",
    "405": "You are in too many rooms; leave one first",
    "412": "Type some text to send",
    "417": "That message is too long; split it into shorter ones",
    "421": "The server does not know that command; type /help for the ones you can use",
    "431": "Type a nickname",
    "432": "Nicknames use letters, digits and - _ [ ] { } \\ | ^ ` and cannot start with a digit;"
    " pick another",
    "433": "That nickname is taken; pick another",
    "436": "That nickname is taken; pick another",
    "441": "That person is not in this room",
    "442": "You are not in that room; join it first",
    "443": "They are already in this room",
    "451": "Wait until you are connected",
    "461": "That command needs more details; type /help",
    "464": "Wrong server password; ask the host of the room for the right one",
    "465": "You are banned from this server",
    "471": "This room is full; try again later",
    "473": "This room is invite-only; ask someone inside to /invite you",
    "474": "You are banned from this room",
    "475": "This room needs a key (password)",
    "476": "That is not a valid room name; room names start with #",
    "482": "You need to be a room operator (@) to do that",
}

# Replies that carry nothing a person needs to read (state we track, or list delimiters).
_QUIET_NUMERICS = frozenset(
    {"002", "003", "004", "331", "375", "329", "324", "318", "369", "265", "266"}
)


def hint_for(code: str) -> str:
    """Plain words saying what to do about the error numeric `code` ("" when there is none).

    Args:
        code: a three-digit numeric such as "433", or a standard-reply code such as "FAIL".

    Returns:
        The hint, e.g. "That nickname is taken; pick another".
    """
    return _HINTS.get(code, "")


def error_text(msg: Message) -> str:
    """The text of an error numeric, with its subject (the nick or room refused) in front.

    Args:
        msg: an error numeric, "<client> [<subject>...] :<text>".

    Returns:
        "<subject>: <text>", or the text alone, or the numeric when there is neither.
    """
    params = msg.params[1:]
    if len(params) >= 2:
        return f"{' '.join(params[:-1])}: {params[-1]}"
    return params[0] if params else msg.command


def server_error(server_id: str, msg: Message) -> ServerError:
    """The event for the error numeric `msg`: its code, its text and the hint for it.

    Args:
        server_id: the connection's name, copied into the event.
        msg: an error numeric (4xx or 5xx).

    Returns:
        The ServerError to show the person.
    """
    # "<client> <subject> :<text>": the room or nick refused is the second parameter
    subject = msg.params[1] if len(msg.params) >= 3 else ""
    return ServerError(server_id, msg.command, error_text(msg), hint_for(msg.command), subject)


def standard_reply_error(server_id: str, msg: Message) -> ServerError:
    """The event for a standard reply: its command and code, its description and any hint.

    Args:
        server_id: the connection's name, copied into the event.
        msg: "FAIL <command> <code> [<context>...] :<description>" (at least 3 parameters).

    Returns:
        The ServerError to show the person, with the code "<command> <code>".
    """
    code = f"{msg.params[0]} {msg.params[1]}"
    return ServerError(server_id, code, msg.params[-1], hint_for(code))


def numeric_events(server_id: str, msg: Message) -> list[ClientEvent]:
    """What a numeric with no handler of its own shows the person.

    Args:
        server_id: the connection's name, copied into the event.
        msg: a numeric reply.

    Returns:
        A ServerError for an error (4xx, 5xx), nothing for a quiet reply, else a ServerNotice
        with the parameters after our nick.
    """
    if msg.command[0] in "45":
        return [server_error(server_id, msg)]
    if msg.command in _QUIET_NUMERICS:
        return []
    return [ServerNotice(server_id, " ".join(msg.params[1:]))]
