"""The "Why can't I see anyone?" button and the dialog that shows the checks as they run.

Layer: GUI (Tk main thread only); imports tkinter, lanchat.web.qr (segno) and
lanchat.discovery.{checks,diagnose,doctor}. The checks run on a DiagnosisThread, never on Tk's
thread: its results arrive on a queue drained with after() (IDLE's rule, STYLE.md).

Spec: lanchat issue #15. One row per check, in lanchat.discovery.checks.CHECKS order: a mark
("…" while it runs), the check's name, its verdict and what to do; this machine's address as a
QR code to scan; "Copy report" puts the same text as `lanchat doctor` on the clipboard.
"""

from __future__ import annotations

import base64
import queue
import tkinter as tk
from collections.abc import Sequence
from tkinter import ttk
from typing import TYPE_CHECKING

from lanchat.discovery.checks import CHECKS, CheckResult, Status
from lanchat.discovery.doctor import format_result
from lanchat.web.qr import qr_png_data

if TYPE_CHECKING:
    from lanchat.discovery.diagnose import DiagnosisThread

__all__ = ["TITLE", "DiagnosisButton", "DiagnosisDialog"]

TITLE = "Why can't I see anyone?"
_POLL_MS = 50
_MARKS = {
    Status.OK: ("✓", "TLabel"),
    Status.WARNING: ("!", "Error.TLabel"),
    Status.PROBLEM: ("✗", "Error.TLabel"),
    Status.INFO: ("i", "TLabel"),
    Status.SKIPPED: ("-", "Muted.TLabel"),
}
_RUNNING = "Checking what can hide rooms on this network (about 5 seconds)…"


class _Row:
    """The widgets of one check: mark, title, verdict, what to do."""

    def __init__(self, master: ttk.Frame, row: int, title: str) -> None:
        self.mark = ttk.Label(master, text="…", style="Muted.TLabel", width=2)
        self.mark.grid(row=row, column=0, sticky="nw", padx=(0, 6))
        ttk.Label(master, text=title, font="TkHeadingFont").grid(row=row, column=1, sticky="w")
        self.verdict = ttk.Label(master, text="Checking…", style="Muted.TLabel", wraplength=520)
        self.verdict.grid(row=row + 1, column=1, sticky="w")
        self.fix = ttk.Label(master, text="", style="Muted.TLabel", wraplength=520)
        self.fix.grid(row=row + 2, column=1, sticky="w", pady=(0, 8))

    def show(self, result: CheckResult) -> None:
        mark, style = _MARKS[result.status]
        self.mark.configure(text=mark, style=style)
        self.verdict.configure(text=result.verdict, style="TLabel")
        self.fix.configure(text=f"What to do: {result.fix}" if result.fix else "")

    def reset(self) -> None:
        self.mark.configure(text="…", style="Muted.TLabel")
        self.verdict.configure(text="Checking…", style="Muted.TLabel")
        self.fix.configure(text="")


class DiagnosisDialog(tk.Toplevel):
    """Tk thread only. Runs the checks at once and shows each result as it arrives.

    Args:
        master: the window it belongs to.
        interfaces: addresses of the interfaces to check; empty means every one.
        listen_s: how long the checks listen for other devices and rooms.
    """

    def __init__(
        self, master: tk.Misc, *, interfaces: Sequence[str] = (), listen_s: float = 3.0
    ) -> None:
        super().__init__(master)
        self.title(TITLE)
        self.interfaces = tuple(interfaces)
        self.listen_s = listen_s
        self.results: dict[str, CheckResult] = {}  # check id -> its result, this run
        self._queue: queue.SimpleQueue[CheckResult] = queue.SimpleQueue()
        self._thread: DiagnosisThread | None = None
        self._after_id: str | None = None  # the pending poll, cancelled on close
        self._qr: tk.PhotoImage | None = None  # kept alive while shown
        outer = ttk.Frame(self, padding=16)
        outer.pack(fill="both", expand=True)
        ttk.Label(outer, text=TITLE, style="Title.TLabel").pack(anchor="w")
        self.status = ttk.Label(outer, text=_RUNNING, style="Muted.TLabel", wraplength=560)
        self.status.pack(anchor="w", pady=(4, 6))
        style = ttk.Style(self)
        # the theme gives progress bars the window's own colour; this one shows in the accent
        style.configure(
            "Diagnosis.Horizontal.TProgressbar",
            background=style.lookup("Accent.TButton", "background") or "#0b57d0",
        )
        self.progress = ttk.Progressbar(
            outer,
            maximum=len(CHECKS),
            mode="determinate",
            style="Diagnosis.Horizontal.TProgressbar",
        )
        self.progress.pack(fill="x", pady=(0, 10))
        body = ttk.Frame(outer)
        body.pack(fill="both", expand=True)
        checks = ttk.Frame(body)
        checks.pack(side="left", fill="both", expand=True)
        checks.columnconfigure(1, weight=1)
        self.rows = {
            check: _Row(checks, 3 * i, title) for i, (check, title) in enumerate(CHECKS.items())
        }
        self.qr = ttk.Label(body, text="", compound="top", justify="center", wraplength=200)
        self.qr.pack(side="right", anchor="n", padx=(12, 0))
        buttons = ttk.Frame(outer)
        buttons.pack(fill="x", pady=(10, 0))
        self.close_button = ttk.Button(buttons, text="Close", command=self.close)
        self.close_button.pack(side="right")
        self.again_button = ttk.Button(
            buttons, text="Check again", style="Accent.TButton", command=self.run
        )
        self.again_button.pack(side="right", padx=6)
        self.copy_button = ttk.Button(buttons, text="Copy report", command=self.copy_report)
        self.copy_button.pack(side="left")
        self.protocol("WM_DELETE_WINDOW", self.close)
        self.bind("<Escape>", lambda _e: self.close())
        self.run()

    def run(self) -> None:
        """Start (or restart) the checks on their own thread."""
        if self._thread is not None:
            self._thread.cancel()
        self.results.clear()
        self._queue = queue.SimpleQueue()
        for row in self.rows.values():
            row.reset()
        self.progress.configure(value=0)
        self.status.configure(text=_RUNNING, style="Muted.TLabel")
        self.again_button.state(["disabled"])
        # Imported here, not at the top: the chat window and the launcher show this dialog's
        # button, and must not load zeroconf (which diagnose uses) before anyone presses it.
        from lanchat.discovery.diagnose import DiagnosisThread

        self._thread = DiagnosisThread(
            self._queue.put, interfaces=self.interfaces, listen_s=self.listen_s
        )
        self._thread.start()
        if self._after_id is None:
            self._after_id = self.after(_POLL_MS, self._poll)

    def _poll(self) -> None:
        self._after_id = None
        thread = self._thread
        finished = thread is not None and thread.finished.is_set()  # read before draining
        while True:
            try:
                self._show(self._queue.get_nowait())
            except queue.Empty:
                break
        if finished:
            self._finish()
        else:
            self._after_id = self.after(_POLL_MS, self._poll)

    def _show(self, result: CheckResult) -> None:
        self.results[result.check] = result
        self.rows[result.check].show(result)
        self.progress.configure(value=len(self.results))
        if result.link:
            self._show_qr(result.link)

    def _show_qr(self, link: str) -> None:
        self._qr = tk.PhotoImage(master=self, data=base64.b64encode(qr_png_data(link)))
        self.qr.configure(image=self._qr, text=f"Scan to connect: {link}")

    def _finish(self) -> None:
        self.again_button.state(["!disabled"])
        for check, row in self.rows.items():
            if check not in self.results:
                row.verdict.configure(text="Could not be checked (see the log).")
        problems = sum(r.status is Status.PROBLEM for r in self.results.values())
        warnings = sum(r.status is Status.WARNING for r in self.results.values())
        if problems or warnings:
            found = [f"{problems} problem{'s' if problems != 1 else ''}"] if problems else []
            found += [f"{warnings} warning{'s' if warnings != 1 else ''}"] if warnings else []
            self.status.configure(
                text=f"Found {' and '.join(found)}: see what to do below.", style="Error.TLabel"
            )
        else:
            self.status.configure(text="Nothing here hides rooms.", style="TLabel")

    def report(self) -> str:
        """The results so far as text, as `lanchat doctor` prints them."""
        return "\n".join(format_result(r) for c in CHECKS if (r := self.results.get(c)))

    def copy_report(self) -> None:
        self.clipboard_clear()
        self.clipboard_append(self.report())
        self.status.configure(text="The report is on the clipboard.", style="Muted.TLabel")

    def close(self) -> None:
        """Stop the checks (their thread ends on its own) and close the dialog."""
        if self._after_id is not None:
            self.after_cancel(self._after_id)
            self._after_id = None
        if self._thread is not None:
            self._thread.cancel()
        self.destroy()


class DiagnosisButton(ttk.Button):
    """Tk thread only. "Why can't I see anyone?": opens the dialog, or raises the open one.

    Attributes:
        interfaces: addresses of the interfaces the checks look at; empty means every one
            (set it to the interfaces the room list browses).
        listen_s: how long the checks listen for other devices and rooms.
    """

    def __init__(self, master: tk.Misc, **options: object) -> None:
        super().__init__(master, text=TITLE, command=self.open, **options)  # type: ignore[arg-type]
        self.interfaces: tuple[str, ...] = ()
        self.listen_s = 3.0
        self.dialog: DiagnosisDialog | None = None  # the open dialog, if any

    def open(self) -> DiagnosisDialog:
        if self.dialog is not None and self.dialog.winfo_exists():
            self.dialog.deiconify()
            self.dialog.lift()
            return self.dialog
        self.dialog = DiagnosisDialog(
            self.winfo_toplevel(), interfaces=self.interfaces, listen_s=self.listen_s
        )
        return self.dialog
