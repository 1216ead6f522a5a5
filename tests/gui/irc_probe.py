"""A plain IRC client process that reports what it receives, for tests inside a namespace.

Run as `python -m tests.gui.irc_probe --port N --nick NICK --join #room [--tls]` (with
`ip netns exec NS ...`): it connects to 127.0.0.1:N (over TLS with --tls, any certificate
taken: the probe only watches), registers, joins, and prints
{"event": "joined"} after the end of NAMES, then {"event": "line", "line": ...} for every line
received. It exits when stdin closes or the server hangs up.
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import sys
import threading

from tests.support import insecure_tls_context


def say(obj: dict[str, str]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--nick", required=True)
    parser.add_argument("--join", required=True)
    parser.add_argument("--tls", action="store_true")
    args = parser.parse_args()
    sock: socket.socket | ssl.SSLSocket = socket.create_connection(("127.0.0.1", args.port), 30)
    if args.tls:
        sock = insecure_tls_context().wrap_socket(sock)
    sock.sendall(f"NICK {args.nick}\r\nUSER {args.nick} 0 * :{args.nick}\r\n".encode())
    sock.sendall(f"JOIN {args.join}\r\n".encode())
    # stdin closing is the signal to stop; shutdown() (unlike close()) wakes the recv() below
    threading.Thread(
        target=lambda: (sys.stdin.read(), sock.shutdown(socket.SHUT_RDWR)), daemon=True
    ).start()
    buf = b""
    try:
        while chunk := sock.recv(65536):
            buf += chunk
            *lines, buf = buf.split(b"\r\n")
            for raw in lines:
                line = raw.decode("utf-8", "replace")
                if line.startswith("PING"):
                    sock.sendall(("PONG" + line[4:] + "\r\n").encode())
                say({"event": "line", "line": line})
                if " 366 " in line:
                    say({"event": "joined"})
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
