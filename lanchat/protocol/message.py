"""IRC message values: parse a line into a `Message` and serialise it back.

Layer: sans-I/O protocol core; imports the standard library, lanchat.errors and lanchat.values only.
Spec: https://modern.ircdocs.horse/#message-format and https://ircv3.net/specs/extensions/message-tags

The grammar, from modern.ircdocs.horse "Message format"::

    message     ::= ['@' <tags> SPACE] [':' <source> SPACE] <command> <parameters> <crlf>
    SPACE       ::= %x20 *( %x20 )   ; space character(s)
    crlf        ::= %x0D %x0A        ; "carriage return" "linefeed"
    parameters  ::= *( SPACE middle ) [ SPACE ":" trailing ]
    nospcrlfcl  ::= <any byte except NUL, CR, LF, colon (`:`) and SPACE>
    middle      ::= nospcrlfcl *( ":" / nospcrlfcl )
    trailing    ::= *( ":" / " " / nospcrlfcl )

and from ircv3 message-tags::

    <tags>          ::= <tag> [';' <tag>]*
    <tag>           ::= <key> ['=' <escaped_value>]
    <key>           ::= [ <client_prefix> ] [ <vendor> '/' ] <key_name>
    <client_prefix> ::= '+'
    <key_name>      ::= <non-empty sequence of ascii letters, digits, hyphens ('-')>
    <escaped_value> ::= <sequence of zero or more utf8 characters except NUL, CR, LF,
                         semicolon (`;`) and SPACE>
"""

from __future__ import annotations

from dataclasses import field

from lanchat.errors import InvalidUtf8, MalformedLine
from lanchat.values import value

__all__ = ["Message", "escape_tag_value", "middle_param", "parse", "unescape_tag_value"]

# ircv3 message-tags "Escaping values": \: is ';', \s is ' ', \\ is '\', \r and \n are CR, LF.
_ESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_ESCAPE_TABLE = str.maketrans({";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"})
_FORBIDDEN_IN_PARAM = ("\r", "\n", "\0")


def escape_tag_value(value: str) -> str:
    """Escape a tag value for the wire (ircv3 message-tags "Escaping values")."""
    return value.translate(_ESCAPE_TABLE)


def middle_param(text: str) -> str:
    """`text` if it can stand as a middle parameter, else "*".

    Replies echo what a client wrote ("401 nick <target> :No such nick"), and a client can
    write anything in a trailing parameter: an empty word, a space, a leading ':'. Such a word
    cannot be a middle parameter, so it is replaced rather than echoed (lanchat issue 13: a
    reply that cannot be serialised cut its sender off). CR, LF and NUL are not checked: no
    parsed line holds them (`parse` refuses them).

    Args:
        text: a word as the client wrote it.

    Returns:
        `text`, or "*" when it cannot be a middle parameter.
    """
    return text if text and " " not in text and text[0] != ":" else "*"


def unescape_tag_value(raw: str) -> str:
    """Undo `escape_tag_value`. A lone trailing backslash is dropped; an unknown escape
    "\\x" becomes "x", as the spec requires."""
    if "\\" not in raw:
        return raw
    out = []
    i, n = 0, len(raw)
    while i < n:
        ch = raw[i]
        if ch == "\\":
            i += 1
            if i < n:
                out.append(_ESCAPES.get(raw[i], raw[i]))
        else:
            out.append(ch)
        i += 1
    return "".join(out)


@value
class Message:
    """One IRC message, immutable (a lanchat.values value); build it with keywords or `parse()`.

    Attributes:
        command: the verb ("PRIVMSG") or a three-digit numeric ("001"), as sent.
        params: the parameters; only the last may be empty, contain spaces or start with ':'.
        source: the prefix without its ':' ("nick!user@host" or a server name), or None.
        tags: message tags, unescaped values; a tag without a value maps to "".
    """

    command: str
    params: tuple[str, ...] = ()
    source: str | None = None
    tags: dict[str, str] = field(default_factory=dict, compare=True, hash=False)

    @property
    def verb(self) -> str:
        """The command in upper case, as used for dispatch."""
        return self.command.upper()

    def to_line(self) -> str:
        """Serialise without the trailing CRLF.

        Raises:
            MalformedLine: a parameter other than the last is empty, holds a space or starts
                with ':', or any parameter holds CR, LF or NUL.
        """
        parts = []
        if self.tags:
            parts.append(
                "@"
                + ";".join(f"{k}={escape_tag_value(v)}" if v else k for k, v in self.tags.items())
            )
        if self.source:
            parts.append(":" + self.source)
        parts.append(self.command)
        params = self.params
        if params:
            last = len(params) - 1
            for i, p in enumerate(params):
                for bad in _FORBIDDEN_IN_PARAM:
                    if bad in p:
                        raise MalformedLine(f"parameter {i + 1} of {self.command} contains {bad!r}")
                if i == last:
                    if not p or " " in p or p[0] == ":":
                        p = ":" + p
                elif not p or " " in p or p[0] == ":":
                    raise MalformedLine(
                        f"parameter {i + 1} of {self.command} is empty, has a space or starts "
                        "with ':'; only the last parameter may"
                    )
                parts.append(p)
        return " ".join(parts)

    def to_bytes(self) -> bytes:
        """Serialise to UTF-8 with the CRLF terminator (see `to_line` for Raises)."""
        return (self.to_line() + "\r\n").encode("utf-8")


def _parse_tags(raw: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in raw.split(";"):
        if not item:
            continue
        key, eq, value = item.partition("=")
        if not key or key == "+":
            raise MalformedLine("a message tag has an empty key")
        tags[key] = unescape_tag_value(value) if eq else ""
    return tags


def parse(line: bytes | str) -> Message:
    """Parse one line (with or without its CR/LF) into a Message.

    Contract: raises only ProtocolError subclasses; anything else is a bug.

    Raises:
        InvalidUtf8: `line` is bytes that are not valid UTF-8.
        MalformedLine: no command, a NUL byte, or tags/source with nothing after them.
    """
    if isinstance(line, str):
        text = line
    else:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidUtf8(f"line is not valid UTF-8 (byte {e.start})") from None
    text = text.rstrip("\r\n")
    if "\0" in text:
        raise MalformedLine("line contains a NUL byte")
    if "\r" in text or "\n" in text:
        raise MalformedLine("line contains a bare CR or LF")

    tags: dict[str, str] = {}
    source = None
    rest = text.lstrip(" ")
    if rest.startswith("@"):
        raw_tags, _, rest = rest[1:].partition(" ")
        tags = _parse_tags(raw_tags)
        rest = rest.lstrip(" ")
    if rest.startswith(":"):
        source, _, rest = rest[1:].partition(" ")
        if not source:
            raise MalformedLine("the source prefix is empty")
        rest = rest.lstrip(" ")

    head, sep, trailing = rest.partition(" :")
    if not sep and rest.startswith(":"):
        raise MalformedLine("line has no command")
    # Only SPACE (0x20) separates parameters; a tab or form feed is part of a parameter.
    words = head.split(" ")
    if "" in words:  # runs of spaces
        words = [w for w in words if w]
        if not words:
            raise MalformedLine("line has no command")
    if sep:
        words.append(trailing)
    return Message(words[0], tuple(words[1:]), source, tags)
