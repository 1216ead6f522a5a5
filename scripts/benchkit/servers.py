"""The servers under test: locate or install them, write their configs, start and stop them.

Layer: standard library only (subprocess, /proc). Each server runs as a foreground subprocess
bound to 127.0.0.1 on a free port, with its config written into a fresh temporary directory
and every flood, connection-per-IP, send-queue and client-count limit lifted as far as the
server allows. `LIMITS_NOT_LIFTED` documents what could not be lifted.

The Debian packages ngircd and ircd-hybrid conflict, and installing any of them starts a
system daemon. So the harness never installs a server package: it downloads the .deb with
`apt-get download`, unpacks it with `dpkg -x` into CACHE_DIR and runs the binary from there;
only missing shared-library dependencies are installed with apt-get.

ircd-hybrid always resolves the client's address through the name server of /etc/resolv.conf
(no setting turns that off). To keep every packet on loopback it runs in a private mount
namespace where /etc/resolv.conf names a loopback address served by benchkit.nxdns, which
answers NXDOMAIN at once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

CACHE_DIR = Path(os.environ.get("LANCHAT_BENCH_CACHE", "/var/cache/lanchat-bench"))
ROOT = CACHE_DIR / "root"  # the unpacked Debian packages
REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534
BIG = 100_000  # "unlimited" where a server wants a number
READY_TIMEOUT_S = 20.0

# Limits we could not lift, by server (printed under the table and in docs/benchmarks.md).
LIMITS_NOT_LIFTED: dict[str, list[str]] = {
    "ngircd": [
        "per-connection write buffer is fixed at compile time (no sendq setting for clients)",
        "runs as user nobody when started as root (ServerUID may not be 0)",
    ],
    "inspircd": [
        "<performance somaxconn> is capped by the kernel's net.core.somaxconn",
        "completes registrations on its once-a-second timer (no setting): up to 1 s per"
        " registration, which shows in the connection storm",
    ],
    "hybrid": [
        "reverse DNS of each client cannot be disabled; it is answered NXDOMAIN on loopback"
        " (benchkit.nxdns, named by resolv.conf in a private mount namespace)",
        "max clients is bounded by its file-descriptor count (RLIMIT_NOFILE)",
        "refuses to run as root: runs as user nobody",
    ],
    "lanchat": [],
    "lanchat-ws": [],
    "lanchat-asyncio": [],
    "lanchat-cluster": [],
    "relay": ["not an IRC server: the load generator's yardstick (no parsing beyond the verb)"],
    "relay-c": ["not an IRC server: the physical limit, a relay of one room in C on epoll"],
}


class SetupError(Exception):
    """A server could not be installed, configured or started; the message says why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_nofile() -> int:
    """Raise RLIMIT_NOFILE to the hard limit for this process and its children; return it."""
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """Resident set size (VmRSS) of a process in KiB, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SetupError(f"no VmRSS for process {pid}")


def pin(pid: int, cpus: set[int]) -> None:
    """Restrict every thread of process `pid` to `cpus`; threads it starts later inherit it."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), cpus)


def listen_backlog(port: int) -> int:
    """The listen backlog of the socket listening on 127.0.0.1:`port` (ss's Send-Q), or 8."""
    try:
        out = subprocess.run(
            ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=False
        ).stdout.split()
        return int(out[2])
    except (OSError, IndexError, ValueError):
        return 8


# --- installation -------------------------------------------------------------------------


def _run(cmd: list[str], what: str) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SetupError(f"{what}: {e}") from None
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SetupError(f"{what} failed: {tail[0]}")
    return p.stdout


def _installed(pkg: str) -> bool:
    p = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True, check=False
    )
    return p.returncode == 0 and "install ok installed" in p.stdout


def ensure_unpacked(package: str, binary: str) -> Path:
    """Return the path of `binary` from Debian `package`, unpacked into ROOT if needed.

    Args:
        package: the Debian package name, e.g. "ngircd".
        binary: the binary's path inside the package, e.g. "usr/sbin/ngircd".

    Returns:
        The absolute path of the runnable binary.

    Raises:
        SetupError: no apt-get/dpkg, not root, download failed, or shared libraries missing.
    """
    path = ROOT / binary
    if not path.exists():
        if not shutil.which("apt-get") or not shutil.which("dpkg"):
            raise SetupError(f"{package} is not unpacked and this is not a Debian system")
        debs = CACHE_DIR / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        if not list(debs.glob(f"{package}_*.deb")):
            cmd = ["apt-get", "download", package]
            p = subprocess.run(cmd, cwd=debs, capture_output=True, text=True, check=False)
            if p.returncode != 0:
                _run(["apt-get", "update", "-qq"], "apt-get update")
                subprocess.run(cmd, cwd=debs, capture_output=True, check=False)
        found = sorted(debs.glob(f"{package}_*.deb"))
        if not found:
            raise SetupError(f"apt-get download {package} failed (no network or no such package)")
        _run(["dpkg", "-x", str(found[-1]), str(ROOT)], f"dpkg -x {found[-1].name}")
    _ensure_libraries(package, path)
    return path


def _ensure_libraries(package: str, path: Path) -> None:
    def missing() -> list[str]:
        out = _run(["ldd", str(path)], f"ldd {path}")
        return [line.split()[0] for line in out.splitlines() if "not found" in line]

    if not missing():
        return
    deps = []
    for line in _run(["apt-cache", "depends", package], "apt-cache depends").splitlines():
        name = line.split(":", 1)[-1].strip()
        if line.strip().startswith("Depends:") and name.startswith("lib") and not _installed(name):
            deps.append(name)
    if deps:
        if os.geteuid() != 0:
            raise SetupError(f"{package} needs {' '.join(deps)}; install them (needs root)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        p = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *deps],
            capture_output=True,
            env=env,
            check=False,
        )
        if p.returncode != 0:
            _run(["apt-get", "update", "-qq"], "apt-get update")
            _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *deps], "install")
    if still := missing():
        raise SetupError(f"{path.name} cannot find shared libraries: {', '.join(still)}")


# --- configs ------------------------------------------------------------------------------


def _ngircd(tmp: Path, port: int) -> list[str]:
    binary = ensure_unpacked("ngircd", "usr/sbin/ngircd")
    conf = tmp / "ngircd.conf"
    conf.write_text(
        f"""[Global]
Name = bench.ngircd.local
Info = benchmark
Listen = 127.0.0.1
Ports = {port}
MotdPhrase = "bench"
AdminInfo1 = bench
AdminInfo2 = bench
AdminEMail = bench@localhost
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxNickLength = 30
MaxPenaltyTime = 0
PingTimeout = 3600
PongTimeout = 3600
[Options]
DNS = no
Ident = no
PAM = no
"""
    )
    return [str(binary), "-n", "-f", str(conf)]


def _inspircd(tmp: Path, port: int) -> list[str]:
    binary = ensure_unpacked("inspircd", "usr/sbin/inspircd")
    modules = ROOT / "usr/lib/inspircd/modules"
    (tmp / "motd.txt").write_text("bench\n")
    conf = tmp / "inspircd.conf"
    conf.write_text(
        f"""<config format="xml">
<server name="bench.inspircd.local" description="benchmark" network="bench">
<admin name="bench" nick="bench" email="bench@localhost">
<bind address="127.0.0.1" port="{port}" type="clients">
<path configdir="{tmp}" datadir="{tmp}" logdir="{tmp}" moduledir="{modules}">
<pid file="{tmp}/inspircd.pid">
<connect name="main" allow="*" maxchans="{BIG}" timeout="3600" pingfreq="3600"
  hardsendq="1073741824" softsendq="104857600" recvq="1048576" threshold="{BIG}"
  commandrate="1000000000" fakelag="no" localmax="{BIG}" globalmax="{BIG}"
  maxconnwarn="no" resolvehostnames="no" useident="no" limit="{BIG}" uniqueusername="no">
<performance netbuffersize="65536" somaxconn="4096" softlimit="{BIG}" clonesonconnect="no"
  timeskipwarn="0" quietbursts="yes">
<dns server="127.0.0.1" timeout="1">
<channels users="{BIG}" opers="{BIG}">
<limits maxnick="30" maxchan="64">
<files motd="{tmp}/motd.txt">
<options defaultmodes="nt">
<security hidesplits="no">
<whowas groupsize="10" maxgroups="100" maxkeep="3d">
"""
    )
    return [str(binary), "--nofork", "--nopid", "--runasroot", f"--config={conf}"]


def _hybrid(tmp: Path, port: int) -> list[str]:
    binary = ensure_unpacked("ircd-hybrid", "usr/sbin/ircd-hybrid")
    if os.geteuid() != 0 or not shutil.which("unshare"):
        raise SetupError("ircd-hybrid needs root and unshare(1) to keep its DNS lookups local")
    # Its module directory is compiled in (/usr/lib/ircd-hybrid): bind the unpacked one there
    # inside the private mount namespace; only the empty mount point is created on the host.
    Path("/usr/lib/ircd-hybrid").mkdir(exist_ok=True)
    (tmp / "ircd.motd").write_text("bench\n")
    dns = f"127.{os.getpid() % 200 + 1}.{port % 250 + 1}.53"  # unique per run: no clashes
    (tmp / "resolv.conf").write_text(f"nameserver {dns}\n")
    conf = tmp / "ircd.conf"
    conf.write_text(
        f"""serverinfo {{
  name = "bench.hybrid.local"; description = "benchmark"; network_name = "bench";
  network_description = "bench"; hub = no; default_max_clients = 19000;
  max_nick_length = 30; max_topic_length = 300;
}};
admin {{ name = "bench"; description = "bench"; email = "<bench@localhost>"; }};
class {{
  name = "users"; ping_time = 3600; number_per_ip_local = {BIG}; number_per_ip_global = {BIG};
  max_number = {BIG}; number_per_cidr = {BIG}; cidr_bitlen_ipv4 = 32; cidr_bitlen_ipv6 = 128;
  max_channels = {BIG}; sendq = 1073741824; recvq = 1048576;
}};
listen {{ host = "127.0.0.1"; port = {port}; }};
auth {{ user = "*@*"; class = "users"; flags = exceed_limit, can_flood, no_tilde; }};
channel {{
  max_channels = {BIG}; invite_client_count = {BIG}; knock_client_count = {BIG};
  max_invites = {BIG}; max_bans = {BIG}; default_join_flood_count = 0;
  default_join_flood_time = 0;
}};
general {{
  disable_auth = yes; default_floodcount = 0; default_floodtime = 0; throttle_count = {BIG};
  throttle_time = 0; anti_nick_flood = no; anti_spam_exit_message_time = 0; ping_cookie = no;
  no_oper_flood = yes; max_targets = {BIG}; short_motd = yes; max_accept = 50;
  max_monitor = 50; pace_wait = 0; pace_wait_simple = 0; caller_id_wait = 0;
  warn_no_connect_block = no; invisible_on_connect = no;
}};
motd {{ mask = "*"; file = "{tmp}/ircd.motd"; }};
log {{ use_logging = no; }};
"""
    )
    files = [f"-{k}file" for k in ("kline", "dline", "xline", "resv")]
    args = [x for f in files for x in (f, str(tmp / f[1:]))]
    inner = (
        f"mount --bind {tmp}/resolv.conf /etc/resolv.conf"
        f" && mount --bind {ROOT}/usr/lib/ircd-hybrid /usr/lib/ircd-hybrid"
        f" && {{ {sys.executable} -m benchkit.nxdns {dns} {tmp}/nxdns.ready & }}"
        # hybrid must not ask before the responder listens: a lost query costs a 4 s timeout
        f" && while [ ! -e {tmp}/nxdns.ready ]; do sleep 0.02; done"
        f" && exec setpriv --reuid={NOBODY}"
        f" --regid={NOBODY} --clear-groups {binary} -foreground -configfile {conf}"
        f" -pidfile {tmp}/hybrid.pid -logfile {tmp}/hybrid.log {' '.join(args)}"
    )
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", inner]


def lanchat_config(tmp: Path, port: int, web_port: int = 0) -> Path:
    """Write a lanchat TOML config with flood and connection limits out of the way.

    The browser client is off, or on `web_port` when one is given (lanchat-ws).
    """
    conf = tmp / "lanchat.toml"
    conf.write_text(
        f"""[server]
host = "127.0.0.1"
port = {port}
rooms = ["#bench"]
[limits]
sendq_bytes = 1073741824
max_connections_per_ip = {BIG}
max_connections = {BIG}
max_unregistered_connections = {BIG}
registration_timeout_s = 3600
ping_interval_s = 3600
ping_timeout_s = 3600
max_channels_per_user = 1000
[flood]
enabled = false
[discovery]
enabled = false
[store]
data_dir = "{tmp}/data"
[web]
enabled = {"true" if web_port else "false"}
port = {web_port}
"""
    )
    return conf


# `lanchat serve` as `pip install lanchat` without the `fast` extra runs it (every Windows
# user): uvloop cannot be imported, so serve() falls back to the standard asyncio loop.
_WITHOUT_UVLOOP = (
    "import sys; sys.modules['uvloop'] = None; from lanchat.cli import main; sys.exit(main())"
)


def _lanchat(tmp: Path, port: int, web_port: int = 0, uvloop: bool = True) -> list[str]:
    data = tmp / "data"
    data.mkdir(exist_ok=True)
    conf = lanchat_config(tmp, port, web_port)
    run = ["-m", "lanchat"] if uvloop else ["-c", _WITHOUT_UVLOOP]
    return [
        *[sys.executable, *run, "serve", "--config", str(conf)],
        *["--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data), "--no-mdns"],
        "--no-tls",
    ]


def _lanchat_ws(tmp: Path, port: int) -> list[str]:
    # The clients' port is the web port (IRC over WebSocket); the IRC port is another one.
    return _lanchat(tmp, free_port(), web_port=port)


def _lanchat_tls(tmp: Path, port: int) -> list[str]:
    """lanchat with TLS only, on `port` (issue #17): the same server behind TLS."""
    plain = _lanchat(tmp, port)
    return [*plain[: plain.index("--no-tls")], "--no-plain", "--tls-port", str(port)]


def _lanchat_asyncio(tmp: Path, port: int) -> list[str]:
    return _lanchat(tmp, port, uvloop=False)


def _relay(tmp: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "benchkit.relay", str(port)]


def build_relay_c() -> Path:
    """Compile benchkit/relay.c with cc into CACHE_DIR (again whenever the source is newer).

    Raises:
        SetupError: no C compiler (scripts/bench installs gcc) or the build failed.
    """
    source = Path(__file__).with_name("relay.c")
    binary = CACHE_DIR / "bin" / "relay-c"
    if binary.exists() and binary.stat().st_mtime >= source.stat().st_mtime:
        return binary
    if not shutil.which("cc"):
        raise SetupError("no C compiler (cc) to build relay-c; scripts/bench installs gcc")
    binary.parent.mkdir(parents=True, exist_ok=True)
    _run(["cc", "-O2", "-o", f"{binary}.new", str(source)], "cc relay.c")
    Path(f"{binary}.new").rename(binary)
    return binary


def _relay_c(tmp: Path, port: int) -> list[str]:
    return [str(build_relay_c()), str(port)]


DRIVERS: dict[str, Callable[[Path, int], list[str]]] = {
    "relay": _relay,
    "relay-c": _relay_c,
    "lanchat": _lanchat,
    "lanchat-ws": _lanchat_ws,
    "lanchat-tls": _lanchat_tls,
    "lanchat-asyncio": _lanchat_asyncio,
    "ngircd": _ngircd,
    "inspircd": _inspircd,
    "hybrid": _hybrid,
}
# These print "ready: port N"; the others are probed.
PRINTS_READY = {"relay", "relay-c", "lanchat", "lanchat-asyncio", "lanchat-tls"}


@dataclass
class Running:
    """A started server: its name, port, and the pid whose CPU and RSS are measured."""

    name: str
    port: int
    pid: int
    tmp: Path
    proc: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the server's output, for error messages."""
        text = (self.tmp / "server.log").read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:])


def _wait_ready(name: str, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            raise SetupError(f"{name} exited with {proc.returncode}: {' | '.join(tail)}")
        if name in PRINTS_READY:
            if f"ready: port {port}" in log.read_text(errors="replace"):
                return
        else:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                return
        time.sleep(0.05)  # a subprocess's log or listen socket: nothing to await on
    raise SetupError(f"{name} did not become ready within {READY_TIMEOUT_S:.0f} s")


def baseline_tree(ref: str) -> Path:
    """The `lanchat` package as git commit `ref` has it, exported once into CACHE_DIR.

    A server named "<driver>@<ref>" (e.g. "lanchat-asyncio@main") runs that code in place of
    the working tree's: before and after a change, in the same interleaved rounds.

    Raises:
        SetupError: `ref` is not a commit of this repository.
    """
    try:
        sha = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--verify", f"{ref}^{{commit}}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except subprocess.CalledProcessError as e:
        raise SetupError(f"no commit {ref!r} in {REPO}: {e.stderr.strip()}") from e
    tree = CACHE_DIR / "baseline" / sha
    if not (tree / "lanchat").is_dir():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", sha, "lanchat"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


@contextlib.contextmanager
def running(
    name: str, history_db: Path | None = None, extra_args: Sequence[str] = ()
) -> Iterator[Running]:
    """Start server `name` on a free port; yield it; stop it (SIGTERM, then SIGKILL).

    Args:
        name: a key of DRIVERS, or "<key>@<git ref>": that driver on the lanchat of that
            commit (baseline_tree).
        history_db: lanchat only: a history database copied into the data directory first.
        extra_args: appended to the command line (e.g. lanchat's `--cluster URL`).

    Raises:
        SetupError: the server could not be installed, configured or started.
    """
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmpname:
        tmp = Path(tmpname)
        tmp.chmod(0o777)  # servers that drop to nobody must read their config and write logs
        port = free_port()
        driver, _, ref = name.partition("@")
        code = baseline_tree(ref) if ref else REPO
        cmd = [*DRIVERS[driver](tmp, port), *extra_args]
        if history_db is not None:
            shutil.copyfile(history_db, tmp / "data" / "history.sqlite3")
        log = tmp / "server.log"
        env = dict(os.environ, PYTHONPATH=f"{REPO}/scripts:{code}", PYTHONUNBUFFERED="1")
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        try:
            _wait_ready(driver, proc, port, log)
            # Every wrapper (unshare, sh, setpriv) execs the next, so proc.pid is the server.
            yield Running(name, port, proc.pid, tmp, proc)
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 5 s; reaped."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
