"""FILEHOST: an upload token for this connection (lanchat's own command, issue 21).

Layer: pure server core (a handlers module; see lanchat.server.dispatch for how handlers work).
Spec: draft/FILEHOST (ircv3-specifications PR #562) lets the upload URL take Bearer tokens but
does not say where a client without an account gets one; Ergo points at its experimental
draft/AUTHTOKEN. lanchat's answer is one command, replied to with standard replies
(https://ircv3.net/specs/extensions/standard-replies)::

    C: FILEHOST
    S: NOTE FILEHOST TOKEN <token> <seconds> :Upload with "Authorization: Bearer <token>" to <url>
    S: FAIL FILEHOST DISABLED :This server does not take files

The URL is the one in this connection's ISUPPORT (draft/FILEHOST=), which names the address
the client reached the server on.
"""

from __future__ import annotations

from lanchat.protocol.message import Message
from lanchat.server.context import Context

__all__ = ["handle_filehost"]


# FILEHOST
def handle_filehost(ctx: Context, msg: Message) -> None:
    """An upload token for this connection, to share files on the web port (draft/FILEHOST)."""
    url = ctx.user.filehost
    if not url:
        text = "This server does not take files"
        ctx.reply(Message("FAIL", ("FILEHOST", "DISABLED", text), source=ctx.server_name))
        return
    tokens = ctx.state.upload_tokens
    token = tokens.issue(ctx.user.conn_id)
    seconds = str(int(tokens.lifetime_s))
    text = f'Upload with "Authorization: Bearer {token}" to {url}'
    ctx.reply(Message("NOTE", ("FILEHOST", "TOKEN", token, seconds, text), source=ctx.server_name))
