"""Accounts in the chat window: "Register this nick", and logging in again automatically.

Layer: GUI (Tk main thread only); imports tkinter, lanchat.client.events (plain values) and
lanchat.gui.access; works on a lanchat.gui.app.ChatApp through its public methods.
Spec of the behaviour: lanchat issue 17. Registering keeps the nick for its owner (someone
else on it is renamed after a grace period), so the window offers it in one click; the
password is kept with the other settings (settings.json, mode 0600) and given to the client
library at every connection to that server, which logs in with SASL while it connects
(SCRAM-SHA-256 when the server offers it, else PLAIN: lanchat.client.sasl).
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk
from typing import TYPE_CHECKING

from lanchat.client import events as ev
from lanchat.gui.access import name

if TYPE_CHECKING:
    from lanchat.gui.app import ChatApp

__all__ = ["MIN_PASSWORD_CHARS", "AccountControls", "RegisterDialog", "password_problem"]

MIN_PASSWORD_CHARS = 6  # what the server asks (lanchat.server.handlers.accounts)


def password_problem(password: str, repeated: str) -> str | None:
    """What is wrong with a new password, in one sentence, or None when it will do."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"Choose a password of at least {MIN_PASSWORD_CHARS} characters."
    if " " in password:
        return "Leave spaces out of the password."
    if password != repeated:
        return "The two passwords differ: type the same one twice."
    return None


class RegisterDialog(tk.Toplevel):
    """Tk thread only. Asks for a new password twice; calls `on_done(password)` or nothing."""

    def __init__(
        self, master: tk.Misc, nick: str, server: str, on_done: Callable[[str], None]
    ) -> None:
        super().__init__(master)
        self.title(f"Register {nick}")
        self.resizable(False, False)
        self.transient(master.winfo_toplevel())
        self._on_done = on_done
        frame = ttk.Frame(self, padding=16)
        frame.pack(fill="both", expand=True)
        text = (
            f"Register the nick {nick} on {server}: nobody else can keep it, and you are "
            "logged in to it whenever you connect."
        )
        ttk.Label(frame, text=text, wraplength=360).pack(anchor="w")
        ttk.Label(frame, text="Password").pack(anchor="w", pady=(8, 0))
        self.password = name(ttk.Entry(frame, show="•", width=32), "Password")
        self.password.pack(fill="x")
        ttk.Label(frame, text="Password again").pack(anchor="w", pady=(8, 0))
        self.repeated = name(ttk.Entry(frame, show="•", width=32), "Password again")
        self.repeated.pack(fill="x")
        self.problem = ttk.Label(frame, text="", style="Error.TLabel")
        self.problem.pack(anchor="w", pady=(4, 0))
        buttons = ttk.Frame(frame)
        buttons.pack(fill="x", pady=(8, 0))
        self.ok = ttk.Button(buttons, text="Register", style="Accent.TButton", command=self.submit)
        self.ok.pack(side="right")
        ttk.Button(buttons, text="Cancel", command=self.destroy).pack(side="right", padx=6)
        self.repeated.bind("<Return>", lambda _e: self.submit())
        self.bind("<Escape>", lambda _e: self.destroy())
        self.password.focus_set()

    def submit(self) -> None:
        password = self.password.get()
        problem = password_problem(password, self.repeated.get())
        if problem:
            self.problem.configure(text=problem)
            return
        self.destroy()
        self._on_done(password)


class AccountControls:
    """Tk thread only. The "Register this nick" button and what logging in does to the window."""

    def __init__(self, app: ChatApp, bar: tk.Misc, beside: tk.Widget) -> None:
        """Args:
        app: the window.
        bar: the frame of the status bar's buttons.
        beside: the button this one is packed before (when shown).
        """
        self.app = app
        self.button = ttk.Button(bar, text="Register this nick", command=self.open_dialog)
        self._beside = beside
        self.dialog: RegisterDialog | None = None  # open while asking for a password
        self._pending: dict[str, str] = {}  # server_id -> password of a REGISTER under way
        self._logged_in: set[str] = set()  # server_ids where this window's nick is logged in

    def refresh(self) -> None:
        """Show the button while a conversation of a server we are not logged in to is in
        front (there is a nick to register there), hide it otherwise."""
        conv = self.app.model.conversations.get(self.app.model.active)
        shown = conv is not None and conv.server_id not in self._logged_in
        if shown and not self.button.winfo_manager():
            self.button.pack(side="right", padx=4, pady=2, before=self._beside)
        elif not shown:
            self.button.pack_forget()

    def open_dialog(self) -> None:
        """Ask for a password for the nick used on the server of the tab in front."""
        conv = self.app.model.conversations.get(self.app.model.active)
        srv = self.app.servers.get(conv.server_id) if conv is not None else None
        if conv is None or srv is None or srv.state != "connected":
            self.app.set_status("Connect to a room first, then register your nick there.")
            return
        server_id = conv.server_id

        def register(password: str) -> None:
            self._pending[server_id] = password
            self.app.network.submit(ev.RegisterAccount(server_id, password))
            self.app.set_status(f"Registering {srv.nick} on {srv.label}…")

        self.dialog = RegisterDialog(self.app.root, srv.nick, srv.label, register)

    def credentials(self, server_id: str) -> tuple[str, str] | None:
        """The account to log in to on `server_id` ("host:port"), as remembered."""
        return self.app.settings.account_for(server_id)

    def logged_in(self, e: ev.LoggedIn) -> None:
        """LoggedIn: say so; a new account's password is remembered for next time."""
        self._logged_in.add(e.server_id)
        self.refresh()
        password = self._pending.pop(e.server_id, None)
        if e.new and password is not None:
            self.app.remember_account(e.server_id, e.account, password)
            text = f"Registered {e.account}: you will be logged in to it when you connect."
        else:
            text = f"Logged in as {e.account}."
        self.app.note_server(e.server_id, text)
        self.app.set_status(text)
