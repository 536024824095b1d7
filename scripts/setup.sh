#!/usr/bin/env bash
# Installs what fragcov needs on Debian/Ubuntu (system libraries via apt, the
# package itself via pip) and builds it. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="build-essential cmake ninja-build pkg-config libdeflate-dev libzstd-dev zlib1g-dev zstd doctest-dev"
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  missing=$(for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
  if [ -n "$missing" ]; then
    echo "==> apt-get install $missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
  fi
else
  echo "apt-get not found: install libdeflate, zstd and zlib development files yourself" >&2
fi

PYTHON=${PYTHON:-python3}
echo "==> pip install .${FRAGCOV_EXTRAS:-}"
"$PYTHON" -m pip install -q --disable-pip-version-check ".${FRAGCOV_EXTRAS:-}"
