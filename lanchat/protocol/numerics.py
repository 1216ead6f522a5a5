"""Every numeric reply the server sends, defined once by its spec name, with its default text.

Layer: sans-I/O protocol core; standard library only.
Spec: https://modern.ircdocs.horse/#numerics (names, parameters and texts below follow that
list; where it shows `<client>` the server puts the recipient's nick, or "*" before NICK).

Use the names, never the digits: `ctx.numeric(ERR_NOSUCHNICK, target)` reads like the spec.
`DEFAULT_TEXT` holds the human text that ends a numeric when the caller gives none; numerics
whose last parameter is data (RPL_NAMREPLY's names, RPL_TOPIC's topic, ...) have no entry.
"""

from __future__ import annotations

from typing import Final

# Connection registration (modern.ircdocs "Connection Registration").
RPL_WELCOME: Final = "001"
RPL_YOURHOST: Final = "002"
RPL_CREATED: Final = "003"
RPL_MYINFO: Final = "004"
RPL_ISUPPORT: Final = "005"

# LUSERS (modern.ircdocs "LUSERS message").
RPL_LUSERCLIENT: Final = "251"
RPL_LUSEROP: Final = "252"
RPL_LUSERUNKNOWN: Final = "253"
RPL_LUSERCHANNELS: Final = "254"
RPL_LUSERME: Final = "255"
RPL_LOCALUSERS: Final = "265"
RPL_GLOBALUSERS: Final = "266"

# User queries and AWAY.
RPL_UMODEIS: Final = "221"
RPL_AWAY: Final = "301"
RPL_USERHOST: Final = "302"
RPL_ISON: Final = "303"
RPL_UNAWAY: Final = "305"
RPL_NOWAWAY: Final = "306"
RPL_WHOISUSER: Final = "311"
RPL_WHOISSERVER: Final = "312"
RPL_WHOISOPERATOR: Final = "313"
RPL_WHOWASUSER: Final = "314"
RPL_ENDOFWHO: Final = "315"
RPL_WHOISIDLE: Final = "317"
RPL_ENDOFWHOIS: Final = "318"
RPL_WHOISCHANNELS: Final = "319"
RPL_WHOISACTUALLY: Final = "338"
RPL_ENDOFWHOWAS: Final = "369"
RPL_WHOREPLY: Final = "352"

# Rooms (channels).
RPL_LISTSTART: Final = "321"
RPL_LIST: Final = "322"
RPL_LISTEND: Final = "323"
RPL_CHANNELMODEIS: Final = "324"
RPL_CREATIONTIME: Final = "329"
RPL_NOTOPIC: Final = "331"
RPL_TOPIC: Final = "332"
RPL_TOPICWHOTIME: Final = "333"
RPL_INVITING: Final = "341"
RPL_INVEXLIST: Final = "346"  # the room's +I masks (modern.ircdocs; RFC 2812 "INVITELIST")
RPL_ENDOFINVEXLIST: Final = "347"
RPL_NAMREPLY: Final = "353"
RPL_ENDOFNAMES: Final = "366"
RPL_BANLIST: Final = "367"
RPL_ENDOFBANLIST: Final = "368"

# MOTD.
RPL_MOTD: Final = "372"
RPL_MOTDSTART: Final = "375"
RPL_ENDOFMOTD: Final = "376"
ERR_NOMOTD: Final = "422"

# Errors.
ERR_UNKNOWNERROR: Final = "400"
ERR_NOSUCHNICK: Final = "401"
ERR_NOSUCHSERVER: Final = "402"
ERR_NOSUCHCHANNEL: Final = "403"
ERR_CANNOTSENDTOCHAN: Final = "404"
ERR_TOOMANYCHANNELS: Final = "405"
ERR_WASNOSUCHNICK: Final = "406"
ERR_TOOMANYTARGETS: Final = "407"
ERR_NOORIGIN: Final = "409"
ERR_INVALIDCAPCMD: Final = "410"
ERR_NORECIPIENT: Final = "411"
ERR_NOTEXTTOSEND: Final = "412"
ERR_INPUTTOOLONG: Final = "417"
ERR_UNKNOWNCOMMAND: Final = "421"
ERR_NONICKNAMEGIVEN: Final = "431"
ERR_ERRONEUSNICKNAME: Final = "432"
ERR_NICKNAMEINUSE: Final = "433"
ERR_USERNOTINCHANNEL: Final = "441"
ERR_NOTONCHANNEL: Final = "442"
ERR_USERONCHANNEL: Final = "443"
ERR_NOTREGISTERED: Final = "451"
ERR_NEEDMOREPARAMS: Final = "461"
ERR_ALREADYREGISTERED: Final = "462"
ERR_PASSWDMISMATCH: Final = "464"
ERR_CHANNELISFULL: Final = "471"
ERR_UNKNOWNMODE: Final = "472"
ERR_INVITEONLYCHAN: Final = "473"
ERR_BANNEDFROMCHAN: Final = "474"
ERR_BADCHANNELKEY: Final = "475"
ERR_BADCHANMASK: Final = "476"
ERR_NOPRIVILEGES: Final = "481"
ERR_CHANOPRIVSNEEDED: Final = "482"
ERR_UMODEUNKNOWNFLAG: Final = "501"
ERR_USERSDONTMATCH: Final = "502"
ERR_INVALIDKEY: Final = "525"
ERR_INVALIDMODEPARAM: Final = "696"

# Default texts, as modern.ircdocs.horse gives them (shortened where it shows a placeholder).
DEFAULT_TEXT: Final[dict[str, str]] = {
    RPL_ISUPPORT: "are supported by this server",
    RPL_LUSEROP: "operator(s) online",
    RPL_LUSERUNKNOWN: "unknown connection(s)",
    RPL_LUSERCHANNELS: "channels formed",
    RPL_UNAWAY: "You are no longer marked as being away",
    RPL_NOWAWAY: "You have been marked as being away",
    RPL_WHOISOPERATOR: "is an IRC operator",
    RPL_ENDOFWHO: "End of WHO list",
    RPL_WHOISIDLE: "seconds idle, signon time",
    RPL_ENDOFWHOIS: "End of /WHOIS list",
    RPL_WHOISACTUALLY: "is actually using host",
    RPL_ENDOFWHOWAS: "End of WHOWAS",
    RPL_LISTEND: "End of /LIST",
    RPL_NOTOPIC: "No topic is set",
    RPL_ENDOFINVEXLIST: "End of Channel Invite Exception List",
    RPL_ENDOFNAMES: "End of /NAMES list",
    RPL_ENDOFBANLIST: "End of channel ban list",
    RPL_ENDOFMOTD: "End of /MOTD command.",
    ERR_NOMOTD: "MOTD File is missing",
    ERR_NOSUCHNICK: "No such nick/channel",
    ERR_NOSUCHSERVER: "No such server",
    ERR_NOSUCHCHANNEL: "No such channel",
    ERR_CANNOTSENDTOCHAN: "Cannot send to channel",
    ERR_TOOMANYCHANNELS: "You have joined too many channels",
    ERR_WASNOSUCHNICK: "There was no such nickname",
    ERR_TOOMANYTARGETS: "Too many targets",
    ERR_NOORIGIN: "No origin specified",
    ERR_INVALIDCAPCMD: "Invalid CAP command",
    ERR_NORECIPIENT: "No recipient given",
    ERR_NOTEXTTOSEND: "No text to send",
    ERR_INPUTTOOLONG: "Input line was too long",
    ERR_UNKNOWNCOMMAND: "Unknown command",
    ERR_NONICKNAMEGIVEN: "No nickname given",
    ERR_ERRONEUSNICKNAME: "Erroneus nickname",
    ERR_NICKNAMEINUSE: "Nickname is already in use",
    ERR_USERNOTINCHANNEL: "They aren't on that channel",
    ERR_NOTONCHANNEL: "You're not on that channel",
    ERR_USERONCHANNEL: "is already on channel",
    ERR_NOTREGISTERED: "You have not registered",
    ERR_NEEDMOREPARAMS: "Not enough parameters",
    ERR_ALREADYREGISTERED: "You may not reregister",
    ERR_PASSWDMISMATCH: "Password incorrect",
    ERR_CHANNELISFULL: "Cannot join channel (+l)",
    ERR_UNKNOWNMODE: "is unknown mode char to me",
    ERR_INVITEONLYCHAN: "Cannot join channel (+i)",
    ERR_BANNEDFROMCHAN: "Cannot join channel (+b)",
    ERR_BADCHANNELKEY: "Cannot join channel (+k)",
    ERR_BADCHANMASK: "Bad Channel Mask",
    ERR_NOPRIVILEGES: "Permission Denied- You're not an IRC operator",
    ERR_CHANOPRIVSNEEDED: "You're not channel operator",
    ERR_UMODEUNKNOWNFLAG: "Unknown MODE flag",
    ERR_USERSDONTMATCH: "Cant change mode for other users",
    ERR_INVALIDKEY: "Key is not well-formed",
    ERR_INVALIDMODEPARAM: "Invalid mode parameter",
}


def default_text(numeric: str) -> str | None:
    """The spec's default human text for `numeric`, or None when its last parameter is data.

    Args:
        numeric: a three-digit reply code, e.g. ERR_NOSUCHNICK.

    Returns:
        The text to end the reply with, or None.
    """
    return DEFAULT_TEXT.get(numeric)


# RFC 2812 "ERR_UNAVAILRESOURCE (437)": "<nick/channel> :Nick/channel is temporarily
# unavailable"; lanchat: no new room can be made while the room table is full of occupied rooms.
ERR_UNAVAILRESOURCE: Final = "437"
DEFAULT_TEXT[ERR_UNAVAILRESOURCE] = "Nick/channel is temporarily unavailable"

# Rooms and queries (added for lanchat.server.handlers.rooms / queries; modern.ircdocs
# "ERR_BANLISTFULL (478)": "<client> <channel> <char> :Channel list is full").
ERR_BANLISTFULL: Final = "478"
DEFAULT_TEXT[ERR_BANLISTFULL] = "Channel list is full"

# Issue 18, the rest of modern IRC: modern.ircdocs "RPL_WHOSPCRPL (354)" (WHOX, with
# https://ircv3.net/specs/extensions/whox), "RPL_TIME (391)", "RPL_INFO (371)",
# "RPL_ENDOFINFO (374)", "RPL_LINKS (364)", "RPL_ENDOFLINKS (365)", "RPL_HELPSTART (704)" ..
# "ERR_HELPNOTFOUND (524)", "RPL_INVITELIST (336)" / "RPL_ENDOFINVITELIST (337)" (the
# user's invites; the room's +I list is RPL_INVEXLIST 346/347), "RPL_EXCEPTLIST (348)",
# "RPL_ENDOFEXCEPTLIST (349)"; https://ircv3.net/specs/extensions/monitor (730-734) and
# https://ircv3.net/specs/extensions/bot-mode ("RPL_WHOISBOT (335)").
RPL_WHOISBOT: Final = "335"
RPL_INVITELIST: Final = "336"
RPL_ENDOFINVITELIST: Final = "337"
RPL_EXCEPTLIST: Final = "348"
RPL_ENDOFEXCEPTLIST: Final = "349"
RPL_WHOSPCRPL: Final = "354"
RPL_LINKS: Final = "364"
RPL_ENDOFLINKS: Final = "365"
RPL_INFO: Final = "371"
RPL_ENDOFINFO: Final = "374"
RPL_TIME: Final = "391"
ERR_HELPNOTFOUND: Final = "524"
RPL_HELPSTART: Final = "704"
RPL_HELPTXT: Final = "705"
RPL_ENDOFHELP: Final = "706"
RPL_MONONLINE: Final = "730"
RPL_MONOFFLINE: Final = "731"
RPL_MONLIST: Final = "732"
RPL_ENDOFMONLIST: Final = "733"
ERR_MONLISTFULL: Final = "734"
DEFAULT_TEXT.update(
    {
        RPL_WHOISBOT: "is a bot",
        RPL_ENDOFINVITELIST: "End of /INVITE list",
        RPL_ENDOFEXCEPTLIST: "End of channel exception list",
        RPL_ENDOFLINKS: "End of /LINKS list",
        RPL_ENDOFINFO: "End of INFO list",
        ERR_HELPNOTFOUND: "No help available on this topic",
        RPL_ENDOFMONLIST: "End of MONITOR list",
        ERR_MONLISTFULL: "Monitor list is full",
    }
)

# Accounts and operators (lanchat issue 17). SASL: https://ircv3.net/specs/extensions/sasl-3.1
# and modern.ircdocs "RPL_LOGGEDIN (900)" .. "RPL_SASLMECHS (908)"; the others: modern.ircdocs
# "RPL_WHOISACCOUNT (330)", "RPL_YOUREOPER (381)", "ERR_NOOPERHOST (491)".
RPL_WHOISACCOUNT: Final = "330"
RPL_YOUREOPER: Final = "381"
ERR_NOOPERHOST: Final = "491"
RPL_LOGGEDIN: Final = "900"
RPL_SASLSUCCESS: Final = "903"
ERR_SASLFAIL: Final = "904"
ERR_SASLTOOLONG: Final = "905"
ERR_SASLABORTED: Final = "906"
ERR_SASLALREADY: Final = "907"
RPL_SASLMECHS: Final = "908"
DEFAULT_TEXT.update(
    {
        RPL_WHOISACCOUNT: "is logged in as",
        RPL_YOUREOPER: "You are now an IRC operator",
        ERR_NOOPERHOST: "No O-lines for your host",
        RPL_SASLSUCCESS: "SASL authentication successful",
        ERR_SASLFAIL: "SASL authentication failed",
        ERR_SASLTOOLONG: "SASL message too long",
        ERR_SASLABORTED: "SASL authentication aborted",
        ERR_SASLALREADY: "You have already authenticated using SASL",
        RPL_SASLMECHS: "are available SASL mechanisms",
    }
)
