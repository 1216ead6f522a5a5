"""The desktop chat client (`lanchat chat`), on Tkinter.

Layer: GUI; may import tkinter, lanchat.client (events, and the NetworkThread in app.run),
lanchat.protocol and lanchat.discovery's records and events; never asyncio, socket or zeroconf (an
import-linter contract). Tk is touched from the main thread only (STYLE.md, IDLE's rule).

The package re-exports nothing, so that the pure modules load without Tk; import from them:

- lines, commands, viewmodel: presentation logic with no Tk (tested without a display)
- settings: remembered nick, theme and recent servers (JSON in the user config directory)
- theme (Sun Valley, or clam), chat, members, rooms, dialogs, tooltip: the widgets
- access: the accessible name of every control, and finding controls by it
- incoming: what each network event does; joins: joining from the Rooms page
- trust: asking whether to trust a room's TLS certificate, and which addresses use TLS
- pump: the after() loop that drains background queues, and the safe order of closing
- app: ChatApp (the window) and run(), the entry point of `lanchat chat`
"""

__all__: list[str] = []
