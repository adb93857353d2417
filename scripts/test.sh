#!/usr/bin/env bash
# Runs every test of Tern: formatting, lints, the Rust tests, then the Python client tests
# against the real binary. As root it first installs what the tests need (Debian packages),
# skipping that step when everything is already there.
#
#   scripts/test.sh             # as root on a fresh machine: installs packages, then tests;
#                               # as any user once the packages are there: tests only
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

# Debian packages the client tests drive: Python's pytest (and poplib/imaplib from python3),
# mbsync (isync), fetchmail (the POP3 client tests), Postfix's smtp-source, swaks (with
# libnet-ssleay-perl for its --tls, used by the SMTP submission tests), plus every real peer
# service scripts/peers.sh starts (Samba AD DC, OpenLDAP, MIT KDC, Dovecot, Cyrus, rspamd,
# clamd, PostgreSQL...).
packages=(python3 python3-pytest isync fetchmail postfix swaks libnet-ssleay-perl)
read -r -a peer_packages <<<"$(bash scripts/peers.sh packages)"
packages+=("${peer_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Postfix is only a tool here (smtp-source): no mail configuration, no running daemon.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    echo "postfix postfix/mailname string localhost" | debconf-set-selections
    echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "missing packages: ${missing[*]} (run $0 as root to install them)" >&2
  fi
fi

# rustfmt and clippy are rustup components; a minimal toolchain may lack them.
if command -v rustup >/dev/null 2>&1; then
  for c in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$c"; then
      rustup component add "$c"
    fi
  done
fi

say "cargo fmt --check"
cargo fmt --all -- --check

say "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

say "cargo build"
cargo build --workspace --all-targets

say "cargo test"
cargo test --workspace

# Python client tests (tests/test_*.py) drive the real binary named by TERN_BIN.
if compgen -G "tests/test_*.py" >/dev/null || compgen -G "tests/**/test_*.py" >/dev/null; then
  TERN_BIN="$(pwd)/target/debug/tern"
  export TERN_BIN
  # The python3 first on PATH may be a private one without pytest; Debian's has it.
  python=""
  for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import pytest" 2>/dev/null; then
      python="$candidate"
      break
    fi
  done
  if [ -z "$python" ]; then
    echo "no python3 with pytest found: install python3-pytest (run this script as root)" >&2
    exit 1
  fi
  # tests/peers.py starts real peer services on demand and stops them when pytest exits;
  # this trap stops any a killed pytest left behind (only the PIDs peers.sh started).
  trap 'bash scripts/peers.sh down >/dev/null 2>&1 || true' EXIT
  say "pytest tests/ ($python, TERN_BIN=$TERN_BIN)"
  "$python" -m pytest -q tests/
else
  say "no Python tests in tests/"
fi
