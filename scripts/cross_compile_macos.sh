#!/usr/bin/env bash
# CI's portability check: cross-compiles the C++ library and its C++ unit tests for macOS
# (arm64 and x86-64) on this Linux machine with zig's clang, the toolchain of the release
# wheels (cmake/zig-toolchain.cmake, the `ziglang` package of PyPI). Compile and link only:
# no macOS machine runs the result, and no macOS wheel is built.
#
#   bash scripts/cross_compile_macos.sh
#
# libdeflate, zstd and zlib (zlib-ng in zlib-compatible mode) are built from their PyPI sdists
# for each target (scripts/build_deps.sh); doctest is the header of Debian's doctest-dev
# (scripts/setup.sh --tests), or of setup.sh's route without root. Checks that each result is a
# Mach-O executable for its CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python_env.sh
"$PYTHON" -m pip install -q --disable-pip-version-check "ziglang==$(cat scripts/ziglang-version)" "cmake>=3.21" ninja
export FRAGCOV_ZIG
FRAGCOV_ZIG=$("$PYTHON" -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')

# doctest alone in a folder: its Debian CMake package would put all of /usr/include (Linux's
# libc headers) on the include path
doctest_h=$(ls /usr/include/doctest/doctest.h build/no-root/sysroot/usr/include/doctest/doctest.h 2>/dev/null \
            | head -1 || true)
[ -n "$doctest_h" ] || { echo "error: no doctest.h (Debian: doctest-dev; scripts/setup.sh --tests)" >&2; exit 1; }
doctest=$PWD/build/macos-doctest
mkdir -p "$doctest/include/doctest"
cp "$doctest_h" "$doctest/include/doctest/"
cat > "$doctest/doctestConfig.cmake" <<'CMAKE'
add_library(doctest::doctest INTERFACE IMPORTED)
set_target_properties(doctest::doctest PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${CMAKE_CURRENT_LIST_DIR}/include")
CMAKE

start=$SECONDS
# the oldest macOS of the conda recipe (recipe/conda_build_config.yaml): 13.3, libc++'s std::to_chars
for target in aarch64-macos.13.3 x86_64-macos.13.3; do
  export FRAGCOV_ZIG_TARGET=$target
  prefix=$(bash scripts/build_deps.sh | tail -1)
  build=build/macos-$target
  cmake -S . -B "$build" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/zig-toolchain.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DFRAGCOV_BUILD_PYTHON=OFF -DFRAGCOV_BUILD_TESTS=ON -DFRAGCOV_WERROR=ON \
    -DCMAKE_FIND_ROOT_PATH="$prefix;$prefix/zlib;$doctest" -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY \
    -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY \
    -DCMAKE_PREFIX_PATH="/" -Ddoctest_DIR="$doctest" >/dev/null
  if ! cmake --build "$build" -j2 > "$build/build.log" 2>&1; then
    grep -v '^\[' "$build/build.log" | tail -40 >&2
    echo "error: the $target build failed (log: $build/build.log)" >&2
    exit 1
  fi
  # Mach-O 64-bit (0xfeedfacf), CPU type arm64 (0x0100000c) or x86-64 (0x01000007)
  "$PYTHON" - "$build/fragcov_unit_tests" "$target" <<'PY'
import struct, sys
magic, cpu = struct.unpack("<II", open(sys.argv[1], "rb").read(8))
want = {"aarch64": 0x0100000C, "x86_64": 0x01000007}[sys.argv[2].split("-")[0]]
assert magic == 0xFEEDFACF and cpu == want, f"{sys.argv[1]}: not a Mach-O {sys.argv[2]} executable"
PY
  echo "==> $target: libfragcov.a and fragcov_unit_tests compiled and linked (Mach-O; not run)"
done
echo "==> macOS cross-compile check passed in $((SECONDS - start)) s"
