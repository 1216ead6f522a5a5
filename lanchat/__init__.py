"""lanchat: chat rooms on a local network that people find without typing an address."""

__version__ = "0.1.0"
