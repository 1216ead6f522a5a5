"""The browser client's server side: the page, /api/rooms and IRC over WebSocket (issue 16).

Layer: asyncio edge beside lanchat.server.connection; lanchat.web.frames is pure.
"""

from lanchat.web.frames import BINARY_SUBPROTOCOL, SUBPROTOCOLS, TEXT_SUBPROTOCOL

__all__ = ["BINARY_SUBPROTOCOL", "SUBPROTOCOLS", "TEXT_SUBPROTOCOL"]
