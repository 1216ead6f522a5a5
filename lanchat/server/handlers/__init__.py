"""The server's command handlers: one module per area, one function per verb.

Layer: pure server core (see lanchat.server.dispatch, whose COMMANDS table names each handler
and how it is gated). The package exports nothing: the table imports the modules.
"""

__all__: list[str] = []
