"""The thread bridge between the Tk main thread and the client's asyncio loop.

Layer: asyncio edge of the client; may import lanchat.client.*, lanchat.discovery.browser and
lanchat.protocol; never tkinter (the GUI imports this, not the other way round).

API (the only object both threads touch)::

    class NetworkThread:
        def __init__(self, *, browse: bool = True, interfaces: Sequence[str] = ()) -> None
            # browse=False: no mDNS room discovery (tests); interfaces: passed to RoomBrowser
        events: queue.SimpleQueue[ClientEvent | RoomEvent]
            # everything that happens, in order; the Tk side drains it with after()
        def start(self) -> None
            # starts the daemon loop thread (and discovery if browse); returns at once
        def submit(self, cmd: GuiCommand) -> None
            # any thread; never blocks; the command runs on the loop thread
        def stop(self, timeout_s: float = 3.0) -> None
            # QUITs every connection politely, closes discovery, joins the thread

Room discovery events (RoomAdded, RoomUpdated, RoomRemoved with `.ad: RoomAd`) come from
lanchat.discovery.browser and are re-exported here; client events and commands are in
lanchat.client.events.
"""
