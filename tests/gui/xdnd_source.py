"""A drag source for tests, in its own process: a small X window that drops files as a file
manager does, over XDND version 5 (https://www.freedesktop.org/wiki/Specifications/XDND/).

    python -m tests.gui.xdnd_source X Y FILE...

It shows a 120x80 window at X,Y and prints `ready CX CY` (its centre, root coordinates). A real
mouse (xdotool) pressing on it, moving and releasing over another window drags FILE... there:
XdndEnter with the type text/uri-list, XdndPosition on each move, XdndDrop on release (once the
target said it accepts), the file:// URIs when the target asks for the XdndSelection, and it
prints `finished ACTION` when the target sends XdndFinished (`refused` when nothing
took the drop). It is written on python-xlib, not on tkdnd's own drag source: under Tk 8.6 that
one answers the target with 32-bit numbers where a file manager sends the URIs' bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from Xlib import X, Xatom, display
from Xlib.protocol import event
from Xlib.xobject.drawable import Window

_VERSION = 5
_SIZE = (120, 80)


class _Drag:
    def __init__(self, disp: display.Display, source: Window, uris: bytes) -> None:
        self.d = disp
        self.source = source
        self.uris = uris
        self.root = disp.screen().root
        self.target: Window | None = None  # the XDND-aware window under the pointer
        self.accepted = False
        self.action = 0

    def atom(self, name: str) -> int:
        return int(self.d.intern_atom(name))

    def send(self, kind: str, *data: int) -> None:
        assert self.target is not None
        values = [self.source.id, *data] + [0] * (4 - len(data))
        message = event.ClientMessage(
            window=self.target, client_type=self.atom(kind), data=(32, values)
        )
        self.target.send_event(message, event_mask=0)
        self.d.flush()

    def aware_at(self, x: int, y: int) -> Window | None:
        """The top-level window under root (x, y) that has the XdndAware property."""
        window = self.root
        while True:
            child = window.translate_coords(self.root, x, y).child
            if not child or child.id == self.source.id:
                return None
            if child.get_full_property(self.atom("XdndAware"), X.AnyPropertyType):
                return child
            window = child

    def move(self, x: int, y: int, time: int) -> None:
        target = self.aware_at(x, y)
        if target is None or self.target is None or target.id != self.target.id:
            if self.target is not None:
                self.send("XdndLeave")
            self.target, self.accepted = target, False
            if target is not None:
                self.send("XdndEnter", _VERSION << 24, self.atom("text/uri-list"))
        if self.target is not None:
            self.send("XdndPosition", 0, (x << 16) | y, time, self.atom("XdndActionCopy"))

    def answer(self, request: event.SelectionRequest) -> None:
        """Give the URIs to a target that asks for the XdndSelection as text/uri-list."""
        wanted = int(request.target) == self.atom("text/uri-list")
        if wanted:
            request.requestor.change_property(request.property, request.target, 8, self.uris)
        notify = event.SelectionNotify(
            time=request.time,
            requestor=request.requestor,
            selection=request.selection,
            target=request.target,
            property=request.property if wanted else X.NONE,
        )
        request.requestor.send_event(notify)
        self.d.flush()


def main(argv: list[str]) -> int:
    x, y = int(argv[0]), int(argv[1])
    uris = b"".join(Path(f).resolve().as_uri().encode() + b"\r\n" for f in argv[2:])
    disp = display.Display()
    screen = disp.screen()
    mask = (X.ButtonPressMask | X.ButtonReleaseMask | X.PointerMotionMask
            | X.StructureNotifyMask)  # fmt: skip
    source = screen.root.create_window(
        x, y, *_SIZE, 0, screen.root_depth, background_pixel=screen.black_pixel,
        event_mask=mask, override_redirect=True,
    )  # fmt: skip
    source.set_wm_name("drag source")
    source.change_property(Xatom.WM_NAME, Xatom.STRING, 8, b"drag source")
    source.map()
    drag = _Drag(disp, source, uris)
    dropped = False
    while True:
        e = disp.next_event()
        if e.type == X.MapNotify:
            print(f"ready {x + _SIZE[0] // 2} {y + _SIZE[1] // 2}", flush=True)
        elif e.type == X.ButtonPress:
            source.set_selection_owner(drag.atom("XdndSelection"), e.time)
        elif e.type == X.MotionNotify and e.state & X.Button1Mask and not dropped:
            drag.move(e.root_x, e.root_y, e.time)
        elif e.type == X.ButtonRelease:
            if drag.target is None or not drag.accepted:
                if drag.target is not None:
                    drag.send("XdndLeave")
                print("refused", flush=True)
                return 1
            drag.send("XdndDrop", 0, e.time)
            dropped = True
        elif e.type == X.ClientMessage and e.client_type == drag.atom("XdndStatus"):
            drag.accepted = bool(e.data[1][1] & 1)
            drag.action = e.data[1][4]
        elif e.type == X.SelectionRequest:
            drag.answer(e)
        elif e.type == X.ClientMessage and e.client_type == drag.atom("XdndFinished"):
            print(f"finished {disp.get_atom_name(e.data[1][2])}", flush=True)
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
