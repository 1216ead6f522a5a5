"""The one exception tree of lanchat. Imports nothing.

    LanchatError
    ├── ConfigError          bad configuration or command-line value (one line, says what to fix)
    ├── ProtocolError        a peer sent something the IRC grammar does not allow
    │   ├── LineTooLong      over the line limit (512 bytes body + 8191 bytes tags)
    │   ├── InvalidUtf8      not valid UTF-8 (the server is UTF8ONLY)
    │   └── MalformedLine    any other grammar violation (empty command, bad tag, ...)
    ├── StoreError           the history database cannot be opened, read or written
    ├── DiscoveryError       mDNS advertising or browsing failed
    └── ClusterError         the cluster's Redis cannot be reached at start-up (issue 20)

Every message is one line a person can act on: what happened and what to do.
"""


class LanchatError(Exception):
    """Base class of every error lanchat raises on purpose."""


class ConfigError(LanchatError):
    """A configuration value is missing, malformed or out of range."""


class ProtocolError(LanchatError):
    """A line violates the IRC message grammar. Parsers raise only this (or a subclass)."""


class LineTooLong(ProtocolError):
    """A line is longer than the configured limit."""


class InvalidUtf8(ProtocolError):
    """A line is not valid UTF-8."""


class MalformedLine(ProtocolError):
    """A line does not follow the message grammar."""


class StoreError(LanchatError):
    """The history database cannot be opened, read or written."""


class DiscoveryError(LanchatError):
    """Advertising or browsing rooms over mDNS failed."""


class ClusterError(LanchatError):
    """`lanchat serve --cluster URL` cannot reach or use the cluster's Redis at start-up."""
