"""What each line from the server does to a client session: one table of verbs, one of
numerics (Ergo style: one table, one function per verb).

Layer: SANS-I/O client core. Imports the standard library, lanchat.protocol and
lanchat.client.events only (the session's type for checking).

Each entry takes the session and the message and returns the events it gives; the work is done
by the session's parts (state, membership, registration, messages, history, read markers,
login) or by the session itself where several of them take part.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lanchat.client.events import ClientEvent
from lanchat.protocol import Message

if TYPE_CHECKING:
    from lanchat.client.session import ClientSession

__all__ = ["HANDLERS", "NUMERICS", "Handler"]

Handler = Callable[["ClientSession", Message], list[ClientEvent]]


# Verb -> handler (Ergo style: one table, one function per verb). Lines that only change what
# we know of rooms and people go straight to the state; the session and its parts do what the
# protocol asks in return (PONG, CAP END, rejoins, WHO, history requests).
HANDLERS: dict[str, Handler] = {
    "PING": lambda s, m: s._on_ping(m),
    "ERROR": lambda s, m: s._on_error(m),
    "CAP": lambda s, m: s._on_cap(m),
    "JOIN": lambda s, m: s.membership.on_join(m),
    "PART": lambda s, m: s.membership.on_part_or_kick(m),
    "KICK": lambda s, m: s.membership.on_part_or_kick(m),
    "QUIT": lambda s, m: s.registration.on_quit(m),
    "NICK": lambda s, m: s.registration.on_nick(m),
    "TOPIC": lambda s, m: s.state.on_topic(m),
    "MODE": lambda s, m: s.state.on_mode(m),
    "AWAY": lambda s, m: s.state.on_away(m),
    "INVITE": lambda s, m: s.state.on_invite(m),
    "PRIVMSG": lambda s, m: s.messages.on_privmsg(m),
    "REDACT": lambda s, m: s.messages.on_redact(m),
    "MARKREAD": lambda s, m: s.read_markers.on_markread(m),
    "NOTICE": lambda s, m: s.messages.on_privmsg(m),
    "BATCH": lambda s, m: s._on_batch(m),
    "FAIL": lambda s, m: s._on_fail(m),
    "AUTHENTICATE": lambda s, m: s.login.on_authenticate(m),
    "NOTE": lambda s, m: s._on_note(m),
    "CHATHISTORY": lambda s, m: s.history.on_chathistory(m),
}

# Numerics with their own handler (names from modern.ircdocs.horse "Numerics"); the others
# are shown by hints.numeric_events.
NUMERICS: dict[str, Handler] = {
    "001": lambda s, m: s.state.on_welcome(m),  # RPL_WELCOME
    "005": lambda s, m: s.state.on_isupport(m),  # RPL_ISUPPORT
    "376": lambda s, m: s.registration.on_end_of_motd(m),  # RPL_ENDOFMOTD
    "422": lambda s, m: s.registration.on_end_of_motd(m),  # ERR_NOMOTD (registered all the same)
    "433": lambda s, m: s.registration.on_nick_in_use(m),  # ERR_NICKNAMEINUSE
    "900": lambda s, m: s._on_login_numeric(m),  # RPL_LOGGEDIN
    "903": lambda s, m: s._on_login_numeric(m),  # RPL_SASLSUCCESS
    "904": lambda s, m: s._on_login_numeric(m),  # ERR_SASLFAIL
    "905": lambda s, m: s._on_login_numeric(m),  # ERR_SASLTOOLONG
    "906": lambda s, m: s._on_login_numeric(m),  # ERR_SASLABORTED
    "907": lambda s, m: s._on_login_numeric(m),  # ERR_SASLALREADY
    "908": lambda s, m: s._on_login_numeric(m),  # RPL_SASLMECHS
    "421": lambda s, m: s._on_unknown_command(m),  # ERR_UNKNOWNCOMMAND
    "471": lambda s, m: s.membership.on_join_refused(m),  # ERR_CHANNELISFULL
    "473": lambda s, m: s.membership.on_join_refused(m),  # ERR_INVITEONLYCHAN
    "474": lambda s, m: s.membership.on_join_refused(m),  # ERR_BANNEDFROMCHAN
    "475": lambda s, m: s.membership.on_join_refused(m),  # ERR_BADCHANNELKEY
    "353": lambda s, m: s.state.on_names_reply(m),  # RPL_NAMREPLY
    "366": lambda s, m: s.state.on_end_of_names(m),  # RPL_ENDOFNAMES
    "332": lambda s, m: s.state.on_topic_reply(m),  # RPL_TOPIC
    "333": lambda s, m: s.state.on_topic_who_time(m),  # RPL_TOPICWHOTIME
    "352": lambda s, m: s.state.on_who_reply(m),  # RPL_WHOREPLY
    "315": lambda s, m: s.state.on_end_of_who(m),  # RPL_ENDOFWHO
    "305": lambda s, m: s.state.on_unaway(m),  # RPL_UNAWAY
    "306": lambda s, m: s.state.on_nowaway(m),  # RPL_NOWAWAY
}
