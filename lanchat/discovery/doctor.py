"""`lanchat doctor`: "why can't I see anyone?" in the terminal, for machines without a display.

Layer: discovery's command-line front; may import lanchat.discovery, lanchat.web.qr (segno) and the
standard library; never the server, client, store or gui.

Prints each check of lanchat.discovery.checks (run by lanchat.discovery.diagnose) as soon as
it is known -- its status, its verdict and what to do -- and this machine's address as a QR
code made of text blocks, so a phone can scan it off the terminal (issue #15). `--json`
prints one object per check instead.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict
from typing import TextIO

from lanchat.discovery.checks import CheckResult, Status
from lanchat.web.qr import qr_text

__all__ = ["EXIT_PROBLEM", "format_result", "run_doctor", "to_json"]

EXIT_PROBLEM = 1  # some check found a problem (scripts can tell)
_MARKS = {
    Status.OK: "ok",
    Status.WARNING: "warning",
    Status.PROBLEM: "PROBLEM",
    Status.INFO: "info",
    Status.SKIPPED: "skipped",
}
_INDENT = " " * 10


def format_result(result: CheckResult) -> str:
    """One check for people: `status  Title: verdict` and the fix on the next line.

    Args:
        result: the check's result.

    Returns:
        The lines, joined with newlines (no trailing newline).
    """
    lines = [f"{_MARKS[result.status]:<8}  {result.title}: {result.verdict}"]
    if result.fix:
        lines.append(f"{_INDENT}What to do: {result.fix}")
    return "\n".join(lines)


def to_json(result: CheckResult) -> str:
    """One check as a JSON object on one line (status as its name, e.g. "problem")."""
    obj = asdict(result)
    obj["status"] = result.status.value
    obj["title"] = result.title
    return json.dumps(obj, ensure_ascii=False)


def run_doctor(
    *,
    as_json: bool,
    listen_s: float = 3.0,
    interfaces: tuple[str, ...] = (),
    out: TextIO | None = None,
) -> int:
    """Run every check and print the results as they come: the `lanchat doctor` command.

    Args:
        as_json: one JSON object per check instead of text for people.
        listen_s: how long to listen for other devices and rooms.
        interfaces: IP addresses of the interfaces to check; empty means every one.
        out: where to print (default stdout).

    Returns:
        The exit status: 0, or EXIT_PROBLEM when a check found a problem.

    Raises:
        KeyboardInterrupt: Ctrl-C.
    """
    # Imported here: the chat window and the launcher format results with this module and must
    # not load zeroconf (which diagnose uses) until a diagnosis runs.
    from lanchat.discovery.diagnose import diagnose

    stream = out or sys.stdout

    def report(result: CheckResult) -> None:
        print(to_json(result) if as_json else format_result(result), file=stream, flush=True)
        if result.link and not as_json:
            print(qr_text(result.link).rstrip("\n"), file=stream, flush=True)

    if not as_json:
        print(
            f"Checking what can hide rooms on this network (about {listen_s + 2:g} s)…", file=stream
        )
    results = asyncio.run(diagnose(report, interfaces=interfaces, listen_s=listen_s))
    return EXIT_PROBLEM if any(r.status is Status.PROBLEM for r in results) else 0
