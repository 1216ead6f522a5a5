"""The `lanchat` command line: launcher (default), serve, chat, rooms, passwd, search.

Layer: top; may import everything, but imports the GUI lazily so that `lanchat serve` and
`lanchat rooms` work on machines without Tk or a display.

Every LanchatError becomes one line on stderr ("lanchat: error: ...") and exit status 2.
`lanchat serve` exits 0 after its clean shutdown on Ctrl-C or SIGTERM (it was asked to stop,
and did); the other commands exit 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from lanchat import __version__
from lanchat.errors import LanchatError

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def _port(text: str) -> int:
    """argparse type of --port: a TCP port number, 0 for any free port."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port number; give one from 0 to 65535 (0 picks a free port)"
        )
    return int(text)


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="host rooms on this machine (an IRC server advertised on the LAN)",
        description=(
            "Run a lanchat room server. It speaks the IRC protocol, so lanchat's own client and "
            "any IRC client (irssi, weechat, HexChat, ...) can join. Public rooms are advertised "
            "on the LAN with mDNS/DNS-SD; history is kept in SQLite in the data directory."
        ),
    )
    p.add_argument(
        "--host",
        metavar="ADDR",
        help="address to listen on (default 0.0.0.0: all IPv4 interfaces; '::' for IPv6 too)",
    )
    p.add_argument(
        "--port",
        metavar="N",
        type=_port,
        help="TCP port to listen on (default 6667; 0 picks a free port)",
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        type=Path,
        help="where the history database lives (default: your user data directory)",
    )
    p.add_argument(
        "--password",
        metavar="PASS",
        help="server password clients must send with PASS (default: none)",
    )
    p.add_argument("--no-mdns", action="store_true", help="do not advertise rooms on the LAN")
    p.add_argument(
        "--web-port",
        metavar="N",
        type=int,
        help="HTTP port of the browser client (default 8080; 0 picks a free port)",
    )
    p.add_argument(
        "--no-web", action="store_true", help="do not serve the browser client (no HTTP port)"
    )
    p.add_argument(
        "--tls-port",
        metavar="N",
        type=_port,
        help="TLS port to listen on beside the plain one (default 6697; 0 picks a free port)",
    )
    p.add_argument("--no-tls", action="store_true", help="do not listen for TLS")
    p.add_argument("--no-plain", action="store_true", help="listen for TLS only, not plain TCP")
    p.add_argument(
        "--cert",
        metavar="FILE",
        help="PEM certificate to use for TLS (default: one lanchat makes in the data directory)",
    )
    p.add_argument("--cert-key", metavar="FILE", help="PEM private key of --cert")
    p.add_argument(
        "--web-tls",
        action="store_true",
        help="serve the browser client over HTTPS, with the TLS certificate",
    )
    p.add_argument(
        "--no-files",
        action="store_true",
        help="do not let people share files (no uploads on the web port)",
    )
    p.add_argument(
        "--cluster",
        metavar="URL",
        help="share the rooms with the other lanchat servers using this Redis, "
        "e.g. redis://10.0.0.5:6379/0 (needs lanchat[cluster]; see docs/cluster.md)",
    )
    p.add_argument(
        "--room",
        metavar="NAME",
        action="append",
        help="room to create at start; repeat for more (default #lobby)",
    )
    p.add_argument(
        "--key",
        metavar="KEY",
        help="key (password) that people need to join the rooms given with --room",
    )
    p.add_argument(
        "--config", metavar="FILE", type=Path, help="TOML config file; flags override it"
    )
    p.add_argument(
        "--name",
        metavar="NAME",
        help="server name shown to clients (default: this machine's name, e.g. alice-laptop.local)",
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more logging (-vv logs raw protocol lines)",
    )
    p.add_argument(
        "--stop-when-stdin-closes",
        action="store_true",
        help="also stop cleanly when standard input closes (how the launcher's rooms end with it)",
    )
    p.set_defaults(func=_cmd_serve)


def _add_rooms(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "rooms",
        help="list the rooms advertised on the LAN",
        description="Browse the LAN for lanchat rooms (DNS-SD type _lanchat._tcp) and list them.",
    )
    p.add_argument(
        "--json", action="store_true", help="print one JSON object per room (for scripts)"
    )
    p.add_argument(
        "--watch",
        action="store_true",
        help="keep running and print rooms as they appear, change and disappear",
    )
    p.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=2.0,
        help="how long to listen before printing the list (default 2)",
    )
    p.add_argument(
        "--interface",
        metavar="ADDR",
        action="append",
        help="browse only on the interface with this IP address; repeatable "
        "(default: [discovery] interfaces from --config, else every interface)",
    )
    p.add_argument(
        "--config", metavar="FILE", type=Path, help="TOML config file ([discovery] interfaces)"
    )
    p.set_defaults(func=_cmd_rooms)


def _add_search(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "search",
        help="search the stored history of the rooms hosted here (read-only)",
        description=(
            "Search the messages a `lanchat serve` stored in its data directory, as the "
            "SEARCH command does: every word must occur, anywhere in a message. Reads the "
            "database only; the server may be running."
        ),
    )
    p.add_argument("words", nargs="*", help="words every message found contains")
    p.add_argument("--data-dir", type=Path, help="the server's data directory (default: yours)")
    p.add_argument("--room", action="append", help="search this room only; repeatable")
    p.add_argument("--from", dest="sender", default="", help="only messages from this nick")
    p.add_argument("--limit", type=int, default=100, help="at most this many (the latest)")
    p.set_defaults(func=_cmd_search)


def _add_doctor(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "doctor",
        help="why can't I see anyone? check what hides rooms on this network",
        description=(
            "Check, one by one, what can hide rooms on a LAN (no address, a VPN, mDNS, "
            "multicast blocked, firewalls, other subnets) and say what to do about each."
        ),
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per check")
    p.add_argument(
        "--listen",
        metavar="SECONDS",
        type=float,
        default=3.0,
        help="how long to listen for other devices and rooms (default 3)",
    )
    p.add_argument(
        "--interface",
        metavar="ADDR",
        action="append",
        help="check only the interface with this IP address; repeatable (default: every one)",
    )
    p.set_defaults(func=_cmd_doctor)


def _add_chat(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "chat",
        help="open the chat window (rooms on the LAN, or connect by address)",
        description="Open the lanchat desktop client: browse rooms on the LAN and join them.",
    )
    p.add_argument(
        "--nick", metavar="NICK", help="nickname to use (default: remembered, or your user name)"
    )
    p.add_argument(
        "--connect",
        metavar="HOST[:PORT]",
        action="append",
        help="connect to this server straight away (ircs://HOST[:PORT] or port 6697: with TLS; "
        "ircs://HOST:PORT?fp=SHA256 expects that certificate, as the launcher's Join passes "
        "it); repeatable: the nodes of a clustered room, the next tried when one does not answer",
    )
    p.add_argument(
        "--join", metavar="ROOM", action="append", help="room to join after connecting (repeatable)"
    )
    p.add_argument(
        "--theme", choices=("light", "dark"), help="colour theme (default: remembered, or light)"
    )
    p.set_defaults(func=_cmd_chat)


def _add_launcher(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "launcher",
        help="the small window that starts and stops rooms on this machine (the default)",
        description="Start and stop rooms hosted on this machine and open the chat window.",
    )
    p.set_defaults(func=_cmd_launcher)


def _add_passwd(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "passwd",
        help="hash a password for an operator in the config's [opers]",
        description=(
            "Read a password from standard input (one line) and print its hash, to put in "
            'the config file\'s [opers] table as  name = "<hash>".'
        ),
    )
    p.set_defaults(func=_cmd_passwd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lanchat",
        description=(
            "Chat rooms on your local network that people find without typing an address. "
            "Without a command, opens the launcher."
        ),
    )
    parser.add_argument("--version", action="version", version=f"lanchat {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_launcher(sub)
    _add_serve(sub)
    _add_chat(sub)
    _add_rooms(sub)
    _add_passwd(sub)
    _add_search(sub)
    _add_doctor(sub)
    parser.set_defaults(func=_cmd_launcher, parser=parser)
    for command_parser in sub.choices.values():
        # An unknown flag is reported with the usage of the command it was given to.
        command_parser.set_defaults(parser=command_parser)
    return parser


def _setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stdout)
    if verbose < 2:
        logging.getLogger("zeroconf").setLevel(logging.WARNING)


def _cmd_serve(args: argparse.Namespace) -> int:
    from lanchat import config as config_mod

    overrides = {
        "server": {
            "host": args.host,
            "port": args.port,
            "password": args.password,
            "rooms": args.room,
            "key": args.key,
            "name": args.name,
        },
        "store": {"data_dir": str(args.data_dir) if args.data_dir else None},
        "discovery": {"enabled": False if args.no_mdns else None},
        "web": {"port": args.web_port, "enabled": False if args.no_web else None},
        "tls": {
            "enabled": False if args.no_tls else None,
            "plain": False if args.no_plain else None,
            "port": args.tls_port,
            "cert": args.cert,
            "key": args.cert_key,
            "web": True if args.web_tls else None,
        },
        "files": {"enabled": False if args.no_files else None},
        "cluster": {"url": args.cluster},
    }
    config = config_mod.load(args.config, overrides)
    _setup_logging(args.verbose)
    from lanchat.server.app import serve

    return serve(
        config, debug=args.verbose >= 2, stop_when_stdin_closes=args.stop_when_stdin_closes
    )


def _cmd_rooms(args: argparse.Namespace) -> int:
    from lanchat import config as config_mod
    from lanchat.discovery.listing import run_rooms

    config = config_mod.load(args.config, {"discovery": {"interfaces": args.interface}})
    return run_rooms(
        as_json=args.json,
        watch=args.watch,
        timeout_s=args.timeout,
        interfaces=config.discovery.interfaces,
    )


def _cmd_search(args: argparse.Namespace) -> int:
    from lanchat.config import default_data_dir
    from lanchat.protocol.casemap import casefold
    from lanchat.protocol.tags import format_server_time
    from lanchat.server.hub import console_text
    from lanchat.store.db import search_read_only
    from lanchat.store.records import HistoryQuery

    path = (args.data_dir or default_data_dir()) / "history.sqlite3"
    rooms = tuple(casefold(room) for room in args.room or ())
    query = HistoryQuery(
        "SEARCH",
        limit=max(args.limit, 0),
        target_keys=rooms,
        text=" ".join(args.words),
        sender=args.sender,
    )
    for record in search_read_only(path, query):
        when = format_server_time(record.time_ms / 1000)
        nick = record.source.partition("!")[0]
        # Stored text came from clients: terminal controls are spelled out (issue 13); the
        # lines of a multiline message are indented under the first.
        text = "\n    ".join(console_text(line) for line in record.text.split("\n"))
        print(f"{when} {console_text(record.target)} <{console_text(nick)}> {text}")
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from lanchat.discovery.doctor import run_doctor

    return run_doctor(
        as_json=args.json, listen_s=args.listen, interfaces=tuple(args.interface or ())
    )


def _cmd_chat(args: argparse.Namespace) -> int:
    from lanchat.gui.app import run

    return run(nick=args.nick, connect=args.connect or [], join=args.join or [], theme=args.theme)


def _cmd_passwd(args: argparse.Namespace) -> int:
    import getpass

    from lanchat.passwords import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Operator password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise LanchatError("no password on standard input; type one and press Enter, or pipe it in")
    print(hash_password(password))
    return 0


def _cmd_launcher(args: argparse.Namespace) -> int:
    from lanchat.launcher.app import run

    return run()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `lanchat` command. Returns the exit status."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        args.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.func(args))
    except LanchatError as e:
        print(f"lanchat: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
