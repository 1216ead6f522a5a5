# Shared set-up for scripts/run, scripts/test and scripts/bench (sourced, not run).
# Creates .venv with a Python >= 3.11, installs lanchat (editable) with the given extras,
# and installs missing Debian packages when we are root and apt-get exists.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

find_python() {
    local c
    for c in python3.13 python3.12 python3.11 python3; do
        if command -v "$c" >/dev/null 2>&1 &&
           "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$c"; return 0
        fi
    done
    return 1
}

# apt_need CMD:PACKAGE ... installs PACKAGE when CMD is missing; "-:PACKAGE" checks the
# package itself (for packages without a command, such as fonts).
apt_need() {
    local missing=() pair cmd pkg
    for pair in "$@"; do
        cmd="${pair%%:*}"; pkg="${pair#*:}"
        if [ "$cmd" = "-" ]; then
            dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
        else
            command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        say "missing system packages: ${missing[*]} (install them with your package manager)"
        return 1
    fi
    say "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || say "apt-get update failed; trying the install anyway"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_venv EXTRAS: install lanchat (editable) with these extras (comma-separated) unless
# the virtualenv already has them for the current pyproject.toml. Extras accumulate, so
# scripts/run after scripts/test installs nothing.
ensure_venv() {
    local extras="$1" py stamp hash have="" want
    py="$(find_python)" || die "Python 3.11 or newer is needed; install python3 (3.11+) and retry"
    if ! "$py" -c 'import tkinter' 2>/dev/null; then
        apt_need "-:python3-tk" || true
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating virtualenv in $VENV"
        "$py" -m venv "$VENV" || die "could not create a virtualenv (Debian: apt-get install python3-venv)"
        "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    fi
    stamp="$VENV/.lanchat-installed"
    hash="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
    if [ -f "$stamp" ] && [ "$(head -n1 "$stamp")" = "$hash" ]; then
        have="$(sed -n 2p "$stamp")"
    fi
    want="$(printf '%s\n' ${have//,/ } ${extras//,/ } | sort -u | paste -sd, -)"
    if [ "$want" != "$have" ]; then
        say "installing lanchat[$want] into the virtualenv"
        if ! "$VENV/bin/python" -m pip install -q -e "$ROOT[$want]" >"$VENV/pip.log" 2>&1; then
            tail -n 20 "$VENV/pip.log" >&2
            die "pip could not install lanchat's dependencies (is the package index reachable?); full log: $VENV/pip.log"
        fi
        printf '%s\n%s\n' "$hash" "$want" > "$stamp"
    fi
}
