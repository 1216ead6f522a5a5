"""What the chat client remembers between runs: nickname, recent servers, theme, accounts.

Layer: GUI support; standard library and platformdirs only (no Tk, so it is tested plainly).

The settings live in ``settings.json`` in the per-user config directory
(``platformdirs.user_config_dir("lanchat")``, e.g. ~/.config/lanchat; XDG_CONFIG_HOME is
honoured). The file is written atomically (temporary file + rename) so a crash never leaves
half a file, and readable by its owner only (mode 0600: it holds account passwords); a
missing, unreadable or malformed file gives the defaults, because losing a remembered
nickname must never stop the chat window from opening.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

__all__ = ["MAX_RECENT", "Settings", "default_path", "load", "save"]

MAX_RECENT = 10  # recent servers offered on the Connect manually page


def default_path() -> Path:
    """Where the settings file lives for this user."""
    import platformdirs

    return Path(platformdirs.user_config_dir("lanchat", appauthor=False)) / "settings.json"


def _default_nick() -> str:
    # The login name is a good first guess; IRC nicks cannot start with a digit or hold dots.
    with contextlib.suppress(Exception):
        name = "".join(c for c in getpass.getuser() if c.isalnum() or c in "-_")
        if name and not name[0].isdigit():
            return name[:30]
    return "guest"


@dataclass(frozen=True, slots=True)
class Settings:
    """The remembered values. Immutable: use `with_*` to derive a changed copy."""

    nick: str = field(default_factory=_default_nick)
    theme: str = "light"  # "light" or "dark"
    recent: tuple[str, ...] = ()  # "host:port" of servers connected to by hand, newest first
    # (server "host:port", account, password) to log in with on that server (issue 17)
    accounts: tuple[tuple[str, str, str], ...] = ()

    def with_nick(self, nick: str) -> Settings:
        return replace(self, nick=nick)

    def with_theme(self, theme: str) -> Settings:
        return replace(self, theme=theme)

    def with_recent(self, address: str) -> Settings:
        """Put `address` first in the recent list (once), keeping at most MAX_RECENT."""
        rest = tuple(a for a in self.recent if a != address)
        return replace(self, recent=(address, *rest)[:MAX_RECENT])

    def with_account(self, server: str, account: str, password: str) -> Settings:
        """Remember the account (and its password) to log in with on `server`."""
        rest = tuple(a for a in self.accounts if a[0] != server)
        return replace(self, accounts=((server, account, password), *rest))

    def account_for(self, server: str) -> tuple[str, str] | None:
        """(account, password) remembered for `server`, or None."""
        for where, account, password in self.accounts:
            if where == server:
                return account, password
        return None


def load(path: Path | None = None) -> Settings:
    """Read the settings; anything missing or malformed falls back to its default.

    Args:
        path: the settings file; None for `default_path()`.

    Returns:
        The settings.
    """
    path = path or default_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    if not isinstance(data, dict):
        return Settings()
    s = Settings()
    nick, theme, recent = data.get("nick"), data.get("theme"), data.get("recent")
    if isinstance(nick, str) and nick:
        s = s.with_nick(nick)
    if theme in ("light", "dark"):
        s = s.with_theme(theme)
    if isinstance(recent, list):
        good = tuple(a for a in recent if isinstance(a, str) and a)
        s = replace(s, recent=good[:MAX_RECENT])
    accounts = data.get("accounts")
    if isinstance(accounts, list):
        kept = (
            tuple(a)
            for a in accounts
            if isinstance(a, list) and len(a) == 3 and all(isinstance(x, str) and x for x in a)
        )
        s = replace(s, accounts=tuple((a[0], a[1], a[2]) for a in kept))
    return s


def save(settings: Settings, path: Path | None = None) -> str | None:
    """Write the settings atomically.

    Args:
        settings: what to remember.
        path: the settings file; None for `default_path()`.

    Returns:
        None on success, else a plain-words problem to show in the status bar (saving
        settings is never worth a crash).
    """
    path = path or default_path()
    data = asdict(settings)
    data["recent"] = list(settings.recent)
    data["accounts"] = [list(a) for a in settings.accounts]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp makes the file 0600 (owner only), and the rename keeps that mode.
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2, ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as e:
        return (
            f"Could not save your settings to {path} ({e.strerror}); they apply to this run only."
        )
    return None
