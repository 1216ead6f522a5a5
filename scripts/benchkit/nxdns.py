"""A loopback DNS responder that answers every query with NXDOMAIN at once.

Layer: standard library only. ircd-hybrid always looks up the reverse DNS name of each client
and waits for the answer before it registers them; there is no setting to turn that off.
Started next to hybrid (`python -m benchkit.nxdns ADDR READY_FILE`) on a loopback address that
hybrid's private /etc/resolv.conf names, it keeps those lookups on 127.0.0.0/8 and instant, so
the benchmark measures the IRC server rather than a DNS timeout. It exits when its parent does.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

_NXDOMAIN_FLAGS = b"\x81\x83"  # QR=1, opcode 0, RD=1, RA=1, RCODE=3 (name does not exist)


def answer(query: bytes) -> bytes:
    """The NXDOMAIN reply to a DNS query: same id and question, no answers (RFC 1035 4.1)."""
    return query[:2] + _NXDOMAIN_FLAGS + query[4:6] + b"\x00\x00\x00\x00\x00\x00" + query[12:]


def main() -> None:
    """Serve UDP port 53 on the address argv[1] until the parent goes; create argv[2] once bound."""
    parent = os.getppid()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((sys.argv[1], 53))
        Path(sys.argv[2]).touch()
        s.settimeout(1.0)
        while os.getppid() == parent:
            try:
                query, peer = s.recvfrom(4096)
            except TimeoutError:
                continue
            if len(query) >= 12:
                s.sendto(answer(query), peer)


if __name__ == "__main__":
    main()
