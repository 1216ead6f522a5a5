"""RPL_ISUPPORT tokens come from the configured limits, 13 per line at most."""

from __future__ import annotations

import dataclasses

from lanchat.config import Limits
from lanchat.protocol.isupport import TOKENS_PER_LINE, isupport_lines, isupport_tokens


def test_tokens_report_the_configured_limits() -> None:
    limits = dataclasses.replace(
        Limits(), nicklen=20, topiclen=300, max_targets=3, max_monitor_nicks=40
    )
    tokens = isupport_tokens(limits, network="home")
    for token in [
        "CASEMAPPING=rfc1459",
        "CHANTYPES=#",
        "PREFIX=(ov)@+",
        "CHANMODES=beI,k,l,imnst",
        "NICKLEN=20",
        "TOPICLEN=300",
        "NETWORK=home",
        "UTF8ONLY",
        "CHATHISTORY=1000",
        "ELIST=CMNTU",
        "MSGREFTYPES=timestamp,msgid",
        "TARGMAX=KICK:3,NOTICE:3,PRIVMSG:3,TAGMSG:3",
        # Issue 18.
        "BOT=B",
        "EXCEPTS=e",
        "INVEX=I",
        "MAXLIST=beI:100",
        "MONITOR=40",
        "STATUSMSG=@+",
        "WHOX",
    ]:
        assert token in tokens


def test_tokens_are_split_into_lines_of_at_most_13() -> None:
    lines = isupport_lines(Limits(), network="lanchat")
    assert len(lines) >= 2
    assert all(0 < len(line) <= TOKENS_PER_LINE for line in lines)
    assert [t for line in lines for t in line] == isupport_tokens(Limits(), network="lanchat")
