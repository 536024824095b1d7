#!/usr/bin/env bash
# Builds the C++ unit tests (doctest) with AddressSanitizer + UBSan and
# warnings as errors, and runs them with ctest. Needs cmake, a C++17 compiler
# and doctest (Debian: doctest-dev; installed by scripts/setup.sh --tests).
# With zig's clang (setup.sh's route without root when there is no compiler,
# $CMAKE_TOOLCHAIN_FILE = cmake/zig-toolchain.cmake), which has no AddressSanitizer
# runtime: UBSan only.
# --release: the same tests in an optimized build without sanitizers (timing
# differs, and no test may depend on it: both builds must pass).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/cpp-tests build_type=Debug
generator=() sanitize=(-DFRAGCOV_SANITIZE=ON)
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [ "${1:-}" = --release ]; then
  build=build/cpp-tests-release build_type=Release sanitize=(-DFRAGCOV_SANITIZE=OFF)
elif [[ "${CMAKE_TOOLCHAIN_FILE:-}" == *zig-toolchain.cmake ]]; then
  build=build/cpp-tests-zig
  sanitize=(-DFRAGCOV_SANITIZE=OFF "-DCMAKE_CXX_FLAGS=-fsanitize=undefined -fno-sanitize-recover=all")
  echo "==> C++ tests with zig's clang: UBSan only (zig has no AddressSanitizer runtime)"
fi
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE="$build_type" -DFRAGCOV_BUILD_PYTHON=OFF \
  -DFRAGCOV_BUILD_TESTS=ON "${sanitize[@]}" -DFRAGCOV_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)"
ctest --test-dir "$build" --output-on-failure
