#!/usr/bin/env bash
# The Debian packages Tern's build needs beyond a Rust toolchain: the Kerberos GSSAPI headers
# and library (libgssapi-sys, for GSSAPI single sign-on), libclang (its bindgen) and
# pkg-config. As root, installs whichever are missing; otherwise names them and fails.
#
#   scripts/build-deps.sh && cargo run --release -p tern -- serve
set -euo pipefail
need=()
pkg-config --version >/dev/null 2>&1 || need+=(pkg-config)
{ command -v pkg-config >/dev/null && pkg-config --exists krb5-gssapi; } || need+=(libkrb5-dev)
compgen -G "/usr/lib/llvm-*/lib/libclang*.so*" >/dev/null \
  || compgen -G "/usr/lib/*/libclang*.so*" >/dev/null || need+=(libclang-dev)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "Tern's build needs: ${need[*]} (apt-get install them as root, or run $0 as root)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
