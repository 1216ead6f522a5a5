"""The lanchat client library: a sans-I/O session, an asyncio driver and a thread bridge.

Layer: may import lanchat.protocol and lanchat.discovery.browser; never tkinter, the server or
the store. The package re-exports only the event and command values (lanchat.client.events), so
that importing them pulls in neither asyncio nor sockets; import the rest from its module:

- lanchat.client.session.ClientSession: the sans-I/O state machine (feed a Message, get events)
- lanchat.client.connection.ClientConnection: the asyncio driver for one server (reconnects)
- lanchat.client.bridge.NetworkThread: the background loop thread the Tk GUI talks to
"""

from lanchat.client.events import *  # noqa: F403 (the events module's __all__ is the API)
from lanchat.client.events import __all__ as __all__
