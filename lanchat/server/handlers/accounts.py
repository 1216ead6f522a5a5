"""Accounts: REGISTER, VERIFY, AUTHENTICATE (PLAIN, SCRAM-SHA-256), what logging in changes.

Layer: pure server core (a handlers module; see lanchat.server.dispatch for how handlers work).
No hashing here: a password is checked or hashed by the edge off the loop (a Password effect,
ctx.password); the outcome comes back through ServerState.password_done to the functions
below named `*_done`.
Spec: https://ircv3.net/specs/extensions/account-registration (REGISTER, VERIFY, FAIL codes),
https://ircv3.net/specs/extensions/sasl-3.1 (AUTHENTICATE, 400-byte chunks, 900-908),
RFC 4616 (PLAIN: authzid NUL authcid NUL passwd), RFC 5802 and RFC 7677 (SCRAM-SHA-256, in
lanchat.scram), https://ircv3.net/specs/extensions/
account-notify and account-tag, and Ergo's irc/accounts.go for the policies below.

Policies (lanchat issue 17):
- An account is named after the nick that registers it (no `custom-account-name`), so nobody
  registers a nick someone else is using. There is no e-mail on a LAN: registration completes
  at once, REGISTER logs the client in, and VERIFY has nothing to verify.
- REGISTER is allowed only after connection registration (no `before-connect`).
- One password check per connection at a time; wrong SASL passwords count against the
  address like wrong room keys (ServerState.auth_throttle), and a throttled address is
  refused unchecked. An unknown account name is checked against a fixed hash, so the time of
  the answer does not tell which accounts exist.
- SCRAM-SHA-256 is checked on the loop (two HMACs and a hash: the client did the PBKDF2). A
  wrong proof, or a first message naming no account, counts against the address as a wrong
  PLAIN password does; the throttle is asked before each message is read. An account
  registered before lanchat had SCRAM keys is answered 908 (PLAIN) and 904 with why: which
  nicks are registered is no secret (taking one says so). The server's signature is sent as
  the last challenge; the client's empty answer to it ("+") completes the login (900, 903),
  as Ergo does.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from lanchat.protocol import numerics as n
from lanchat.protocol.caps import SUPPORTED
from lanchat.protocol.casemap import casefold
from lanchat.protocol.message import Message
from lanchat.scram import MECHANISM, ScramError, ServerExchange, client_first, parse_credentials
from lanchat.server.context import Context
from lanchat.server.effects import Password
from lanchat.server.handlers.registration import GUEST_PREFIX, guard_nick, try_register
from lanchat.server.handlers.rooms import echo_param
from lanchat.server.monitor import with_extended_monitor
from lanchat.store.records import AccountRecord

if TYPE_CHECKING:
    from lanchat.server.state import ServerState

__all__ = [
    "MECHANISMS",
    "UNKNOWN_NAME_HASH",
    "account_stored",
    "login",
    "register_done",
    "sasl_done",
    "scram_done",
]

MECHANISMS = SUPPORTED["sasl"]  # the `sasl` capability's value and RPL_SASLMECHS
_MECHANISMS = frozenset(MECHANISMS.split(","))
SASL_CHUNK_BYTES = 400  # sasl-3.1: a chunk of exactly 400 bytes means more follow
MAX_SASL_BYTES = 1600  # the whole base64 response; PLAIN needs a fraction of it
MIN_PASSWORD_CHARS = 6
# scrypt of a random password nobody knows: what a password for an unknown account is
# checked against, so the check takes as long as for a real account.
UNKNOWN_NAME_HASH = (
    "scrypt$ln=14,r=8,p=1$4hekqbrr6c54sn07OiSoiw==$5M7Omyt7EJ9ChfxU8DtnqAMawRZb/h2WrvXW2NgKjPI="
)


def _fail(ctx: Context, verb: str, code: str, *context: str) -> None:
    # ircv3 standard-replies: FAIL <command> <code> [<context>...] :<description>
    ctx.reply(Message("FAIL", (verb, code, *context), source=ctx.server_name))


# REGISTER <account> {<email> | "*"} <password>
def handle_register(ctx: Context, msg: Message) -> None:
    """Create an account named after the sender's nick and log in to it."""
    user, state = ctx.user, ctx.state
    account, password = msg.params[0], msg.params[2]
    shown = echo_param(account)
    if not user.registered:
        _fail(ctx, "REGISTER", "COMPLETE_CONNECTION_REQUIRED", shown, "Register after connecting")
        return
    if not state.config.accounts.registration:
        text = "This server does not take new accounts; ask whoever runs it"
        _fail(ctx, "REGISTER", "TEMPORARILY_UNAVAILABLE", shown, text)
        return
    if user.account:
        text = f"You are already logged in as {user.account}"
        _fail(ctx, "REGISTER", "ALREADY_AUTHENTICATED", shown, text)
        return
    if account != "*" and casefold(account) != user.key:
        text = f"An account is named after your nick: use * or {user.nick}"
        _fail(ctx, "REGISTER", "ACCOUNT_NAME_MUST_BE_NICK", shown, text)
        return
    if _is_guest_nick(user.nick):
        text = "Guest nicks are given out by the server; choose your own nick first"
        _fail(ctx, "REGISTER", "BAD_ACCOUNT_NAME", user.nick, text)
        return
    if user.key in state.accounts or user.key in state.registering:
        text = f"The account {user.nick} exists already; log in to it or choose another nick"
        _fail(ctx, "REGISTER", "ACCOUNT_EXISTS", user.nick, text)
        return
    if len(password) < MIN_PASSWORD_CHARS or password == "*":
        text = f"Choose a password of at least {MIN_PASSWORD_CHARS} characters"
        _fail(ctx, "REGISTER", "WEAK_PASSWORD", user.nick, text)
        return
    if user.password_pending:
        text = "Your last password is still being checked; try again in a moment"
        _fail(ctx, "REGISTER", "TEMPORARILY_UNAVAILABLE", user.nick, text)
        return
    state.registering.add(user.key)
    user.password_pending = True
    ctx.password("register", user.nick, password, key=user.key)


def _is_guest_nick(nick: str) -> bool:
    rest = nick[len(GUEST_PREFIX) :]
    return casefold(nick[: len(GUEST_PREFIX)]) == casefold(GUEST_PREFIX) and rest.isdigit()


def register_done(ctx: Context, effect: Password, ok: bool, detail: str) -> None:
    """The account of a REGISTER was stored (`detail` is its hash) or not (`detail`: why).

    Args:
        ctx: a Context for the client that registered, with the command's label.
        effect: the Password effect of the REGISTER.
        ok: the account was stored.
        detail: the stored hash, or the reason it could not be stored.
    """
    state, user = ctx.state, ctx.user
    if not ok:
        text = f"The account could not be saved ({detail}); try again later"
        _fail(ctx, "REGISTER", "TEMPORARILY_UNAVAILABLE", effect.name, text)
        return
    text = f"Account {effect.name} created; you are logged in to it"
    ctx.reply(Message("REGISTER", ("SUCCESS", effect.name, text), source=ctx.server_name))
    login(ctx, effect.name)
    # Someone else may have taken the nick while the hash was being made: its grace starts.
    holder = state.nicks.get(effect.key)
    if holder is not None and holder is not user:
        other = Context(state, holder)
        guard_nick(other)
        ctx.effects += other.finish()


def account_stored(state: ServerState, effect: Password, ok: bool, detail: str, scram: str) -> None:
    """Bookkeeping of a REGISTER's outcome, whether its client is still here or not.

    Args:
        state: the server.
        effect: the Password effect of the REGISTER.
        ok: the account was stored (it exists from now on).
        detail: the stored hash when `ok`.
        scram: its stored SCRAM-SHA-256 keys ("" when SASLprep refused the password).
    """
    state.registering.discard(effect.key)
    if ok:
        state.accounts[effect.key] = AccountRecord(
            effect.key, effect.name, detail, effect.created_s, scram
        )


# VERIFY <account> <code>
def handle_verify(ctx: Context, msg: Message) -> None:
    """Nothing to verify: accounts are ready as soon as REGISTER succeeds (no e-mail on a LAN)."""
    text = "Nothing to verify: accounts here are ready as soon as REGISTER succeeds"
    _fail(ctx, "VERIFY", "INVALID_CODE", echo_param(msg.params[0]), text)


# AUTHENTICATE <mechanism> | <base64 chunk> | + | *
def handle_authenticate(ctx: Context, msg: Message) -> None:
    """SASL (sasl-3.1): choose a mechanism, then send each response in chunks of 400 bytes."""
    user = ctx.user
    param = msg.params[0]
    if not user.has("sasl"):
        ctx.numeric(n.ERR_SASLFAIL, text="SASL authentication failed: request the sasl capability")
        return
    if param == "*":
        if user.sasl is not None:
            user.sasl = user.scram = None
            ctx.numeric(n.ERR_SASLABORTED)
        else:
            ctx.numeric(n.ERR_SASLFAIL)
        return
    if user.sasl is None:
        if user.account:
            ctx.numeric(n.ERR_SASLALREADY)
        elif user.password_pending:
            ctx.numeric(n.ERR_SASLFAIL, text="SASL authentication failed: a check is running")
        elif param.upper() not in _MECHANISMS:
            ctx.numeric(n.RPL_SASLMECHS, MECHANISMS)
            ctx.numeric(n.ERR_SASLFAIL)
        else:
            user.sasl = (param.upper(), "")
            ctx.reply(Message("AUTHENTICATE", ("+",), source=ctx.server_name))
        return
    mechanism, so_far = user.sasl
    if len(param) > SASL_CHUNK_BYTES or len(so_far) + len(param) > MAX_SASL_BYTES:
        user.sasl = user.scram = None
        ctx.numeric(n.ERR_SASLTOOLONG)
        return
    if param != "+":
        so_far += param
    if len(param) == SASL_CHUNK_BYTES:
        user.sasl = (mechanism, so_far)  # exactly 400 bytes: more follow (maybe just "+")
        return
    if mechanism == MECHANISM:
        user.sasl = (mechanism, "")  # the exchange goes on, unless _scram_step ends it
        _scram_step(ctx, so_far)
    else:
        user.sasl = None
        _check_plain(ctx, so_far)


def _sasl_failed(ctx: Context, text: str = "") -> None:
    """End the exchange in progress with 904 (and `text` for the person, if given)."""
    ctx.user.sasl = ctx.user.scram = None
    ctx.numeric(n.ERR_SASLFAIL, text=f"SASL authentication failed: {text}" if text else None)


def _throttled(ctx: Context) -> bool:
    """Whether the address may not try now (shared with PLAIN); if so, 904 says how long."""
    wait = ctx.state.auth_throttle.retry_after_s(ctx.user.ip)
    if wait:
        _sasl_failed(ctx, f"too many wrong passwords; wait {wait} s")
    return bool(wait)


def _scram_step(ctx: Context, response: str) -> None:
    """One SCRAM-SHA-256 message: client-first, client-final, or the empty last answer."""
    user, state = ctx.user, ctx.state
    try:
        text = base64.b64decode(response, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        _sasl_failed(ctx, "a SCRAM message must be base64 of UTF-8")
        return
    if user.scram is None:  # client-first-message
        if _throttled(ctx):
            return
        try:
            gs2_header, name, bare = client_first(text)
        except ScramError as e:
            _sasl_failed(ctx, f"malformed SCRAM message ({e})")
            return
        key = casefold(name)
        record = state.accounts.get(key)
        if record is None:
            state.auth_throttle.failed(user.ip, f"account name {name!r} (SCRAM-SHA-256)")
            _sasl_failed(ctx)
            return
        credentials = parse_credentials(record.scram)
        if credentials is None:
            ctx.numeric(n.RPL_SASLMECHS, "PLAIN")
            _sasl_failed(ctx, f"{record.name} has no SCRAM-SHA-256 keys yet; log in with PLAIN")
            return
        exchange = ServerExchange(gs2_header, bare, credentials)
        user.scram = (key, exchange)
        _challenge(ctx, exchange.server_first)
        return
    key, pending = user.scram
    if pending is not None:  # client-final-message: checked by the edge, as passwords are
        if user.password_pending:
            _sasl_failed(ctx, "a check is running")
            return
        if _throttled(ctx):
            return
        user.password_pending = True
        ctx.password("scram", key, text, stored=pending.state, key=key)
        return
    record = state.accounts.get(key)
    if text or record is None:  # anything but "+" after the server's signature
        _sasl_failed(ctx, "expected an empty response to the server's signature")
        return
    user.sasl = user.scram = None
    login(ctx, record.name)
    ctx.numeric(n.RPL_SASLSUCCESS)


def scram_done(ctx: Context, effect: Password, ok: bool, detail: str) -> None:
    """The edge checked a SCRAM client-final-message: the server's signature, or 904.

    On a cluster only the client's own node checks it (the proof never enters the log, and
    each node's server nonce is its own); every node applies the outcome (docs/cluster.md).

    Args:
        ctx: a Context for the client that authenticated.
        effect: the Password effect of the client-final-message (`key`: the account).
        ok: the proof matched.
        detail: the server-final-message ("v=...") when `ok`.
    """
    user = ctx.user
    if user.scram is not None and user.scram[0] == effect.key:  # not aborted meanwhile
        if ok:
            user.scram = (effect.key, None)
            _challenge(ctx, detail)
        else:
            ctx.state.auth_throttle.failed(user.ip, f"SCRAM-SHA-256 proof for {effect.key!r}")
            _sasl_failed(ctx)
    if not user.registered:
        try_register(ctx)


def _challenge(ctx: Context, message: str) -> None:
    """Send a SCRAM server message (always under 400 bytes of base64) as AUTHENTICATE."""
    encoded = base64.b64encode(message.encode()).decode("ascii")
    ctx.reply(Message("AUTHENTICATE", (encoded,), source=ctx.server_name))


def _check_plain(ctx: Context, response: str) -> None:
    """RFC 4616: authzid NUL authcid NUL passwd; the authzid, if any, must be the authcid."""
    user, state = ctx.user, ctx.state
    try:
        fields = base64.b64decode(response, validate=True).decode("utf-8").split("\0")
    except (binascii.Error, UnicodeDecodeError):
        fields = []
    if len(fields) != 3 or not fields[1] or fields[0] not in ("", fields[1]):
        ctx.numeric(n.ERR_SASLFAIL, text="SASL authentication failed: malformed PLAIN response")
        return
    name, password = fields[1], fields[2]
    if _throttled(ctx):
        return
    key = casefold(name)
    record = state.accounts.get(key)
    stored = record.password_hash if record is not None else UNKNOWN_NAME_HASH
    user.password_pending = True
    ctx.password("sasl", name, password, stored=stored, key=key if record is not None else "")


def sasl_done(ctx: Context, effect: Password, ok: bool, detail: str) -> None:
    """The outcome of a SASL PLAIN password check: 900 + 903, or 904 (counted as a failure).

    Args:
        ctx: a Context for the client that authenticated.
        effect: the Password effect of the AUTHENTICATE.
        ok: the password matched (always False for an unknown account).
        detail: unused ("").
    """
    user, state = ctx.user, ctx.state
    record = state.accounts.get(effect.key) if effect.key else None
    if not ok or record is None:
        state.auth_throttle.failed(user.ip, f"SASL password for {effect.name!r}")
        ctx.numeric(n.ERR_SASLFAIL)
    else:
        login(ctx, record.name)
        ctx.numeric(n.RPL_SASLSUCCESS)
    if not user.registered:
        try_register(ctx)


def login(ctx: Context, account: str) -> None:
    """Log ctx.user in to `account`: 900, account-notify to room-mates, the nick's grace ends.

    Args:
        ctx: the context of the user logging in.
        account: the account name as registered.
    """
    user = ctx.user
    user.account = account
    text = f"You are now logged in as {account}"
    ctx.numeric(n.RPL_LOGGEDIN, user.source, account, text=text)
    if user.registered:
        change = Message("ACCOUNT", (account,), source=user.source)
        neighbours = [u for u in ctx.state.neighbours(user) if u.has("account-notify")]
        # ircv3 extended-monitor: whoever monitors the nick hears it too.
        ctx.relay(with_extended_monitor(ctx, user, "account-notify", neighbours), change)
        if user.rename_at:
            guard_nick(ctx)
