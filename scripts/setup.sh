#!/usr/bin/env bash
# Sets up fragcov from this source tree: the system packages it builds with,
# a Python environment (scripts/python_env.sh: the active virtualenv, else
# .venv), and `pip install .` into it. Safe to run again.
#   --tests       also what the tests need (doctest for scripts/test_cpp.sh, cmake)
#   --no-install  stop before `pip install .` (scripts/test.sh installs the wheel)
# Environment: FRAGCOV_VENV, PYTHON (see python_env.sh), FRAGCOV_EXTRAS (e.g. "[plot]").
# What is missing is installed by apt-get when we are root or have passwordless
# sudo. Otherwise (no root) scripts/no_root.sh gets each missing piece without
# root: a compiler (zig) and cmake from PyPI, libdeflate and zstd built from
# source, headers from Debian's packages via `apt-get download`. Libraries from
# elsewhere (a conda environment, CMAKE_PREFIX_PATH) are used when present.
set -euo pipefail
cd "$(dirname "$0")/.."
tests=0 install=1
for arg in "$@"; do
  case $arg in
    --tests) tests=1 ;;
    --no-install) install=0 ;;
    *) echo "usage: $0 [--tests] [--no-install]" >&2; exit 2 ;;
  esac
done

# ---- what the build needs: "file|Debian package|conda-forge package" --------
needs="libdeflate.h|libdeflate-dev|libdeflate zstd.h|libzstd-dev|zstd zlib.h|zlib1g-dev|zlib"
[ $tests = 1 ] && needs="$needs doctest/doctest.h|doctest-dev|doctest"
# The interpreter the environment is (or will be) made from.
if [ -n "${VIRTUAL_ENV:-}" ]; then base_python=$VIRTUAL_ENV/bin/python
elif [ -n "${CONDA_PREFIX:-}" ] && [ "${CONDA_DEFAULT_ENV:-base}" != base ]; then base_python=$CONDA_PREFIX/bin/python
else base_python=${PYTHON:-python3}
fi
include_dirs="${CONDA_PREFIX:+$CONDA_PREFIX/include} /usr/local/include /usr/include"
for p in $(echo "${CMAKE_PREFIX_PATH:-}" | tr ':;' '  '); do include_dirs="$p/include $include_dirs"; done

missing_needs() {  # prints the needs that are not met, one per line
  local need dir found
  for need in $needs; do  # a header stands for its -dev package (headers and library)
    found=0
    for dir in $include_dirs; do [ -f "$dir/${need%%|*}" ] && found=1; done
    [ $found = 1 ] || echo "$need"
  done
  cxx=${CXX:-c++}
  if ! command -v "${cxx%% *}" >/dev/null 2>&1 && ! command -v g++ >/dev/null 2>&1 \
     && ! command -v clang++ >/dev/null 2>&1; then
    echo "a C++ compiler|build-essential|cxx-compiler"
  fi
  "$base_python" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(sysconfig.get_paths()["include"] + "/Python.h"))' \
    2>/dev/null || echo "Python.h of $base_python|libpython$("$base_python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-dev|python"
  if [ "$base_python" = "${PYTHON:-python3}" ] && [ ! -x "$(realpath -m "${FRAGCOV_VENV:-.venv}")/bin/python" ]; then
    "$base_python" -c 'import ensurepip, venv' 2>/dev/null || echo "the venv module of $base_python|python3-venv|python"
  fi
}

# ---- 1. system packages: apt-get where it is usable ---------------------------
missing=$(missing_needs) apt="apt-get is not installed"
if [ -n "$missing" ] && command -v apt-get >/dev/null 2>&1; then
  sudo="" apt="apt-get is not usable: not root, and sudo needs a password"
  if [ "$(id -u)" != 0 ]; then sudo="sudo -n"; fi
  if [ -z "$sudo" ] || sudo -n true 2>/dev/null; then
    apt="apt-get did not provide them"
    packages="build-essential cmake ninja-build pkg-config $(echo "$missing" | cut -d'|' -f2 | sort -u | xargs)"
    echo "==> apt-get install $packages"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $packages >/dev/null
    missing=$(missing_needs)
  fi
fi
rm -f build/no-root/env.sh  # what an earlier run without root set up is decided anew
no_root=0
if [ -n "$missing" ] && [ "$(id -u)" != 0 ]; then
  # without root: everything but Python.h and zlib.h has a route without apt-get; those two
  # need apt-get download (Debian/Ubuntu)
  if command -v apt-get >/dev/null 2>&1 || ! echo "$missing" | grep -q -E '^(Python.h|zlib.h)'; then
    no_root=1 apt="without root"
  fi
fi
if [ -n "$missing" ] && [ $no_root = 0 ]; then
  {
    echo "error: fragcov cannot be built here; missing:"
    echo "$missing" | cut -d'|' -f1 | sed 's/^/  - /'
    echo "($apt.) Either ask an administrator for (Debian/Ubuntu packages):"
    echo "  sudo apt-get install $(echo "$missing" | cut -d'|' -f2 | sort -u | xargs)"
    echo "or use a conda environment, which needs no root (CMake finds its libraries via \$CONDA_PREFIX):"
    echo "  conda create -n fragcov -c conda-forge python=3.11 cmake ninja pkg-config cxx-compiler \\"
    echo "      libdeflate zstd zlib$([ $tests = 1 ] && echo " doctest")"
    echo "  conda activate fragcov     # then run this command again"
    echo "or put the libraries' prefix on CMAKE_PREFIX_PATH (headers in <prefix>/include)."
  } >&2
  exit 1
fi

# ---- 2. the Python environment, and what root would have installed -----------
source scripts/python_env.sh
[ $no_root = 1 ] && source scripts/no_root.sh
# test_cpp.sh runs cmake itself; without a recent one on PATH, take PyPI's (no root needed)
if [ $tests = 1 ] && ! printf '3.18\n%s\n' "$(cmake --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+' | head -1)" \
     | sort -V -C 2>/dev/null; then
  echo "==> pip install cmake ninja (no cmake >= 3.18 on PATH)"
  "$PYTHON" -m pip install -q --disable-pip-version-check "cmake>=3.18" ninja
fi

# ---- 3. fragcov from source ------------------------------------------------
if [ $install = 1 ]; then
  echo "==> pip install .${FRAGCOV_EXTRAS:-}"
  "$PYTHON" -m pip install -q --disable-pip-version-check ".${FRAGCOV_EXTRAS:-}"
  [ "${FRAGCOV_NO_HINT:-}" = 1 ] || fragcov_env_hint  # demo.sh says it at its end
fi
