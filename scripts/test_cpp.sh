#!/usr/bin/env bash
# Builds the C++ unit tests (doctest) with AddressSanitizer + UBSan and
# warnings as errors, and runs them with ctest. Needs cmake, a C++17 compiler
# and doctest (Debian: doctest-dev; installed by scripts/setup.sh --tests).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/cpp-tests
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Debug -DFRAGCOV_BUILD_PYTHON=OFF \
  -DFRAGCOV_BUILD_TESTS=ON -DFRAGCOV_SANITIZE=ON -DFRAGCOV_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)"
ctest --test-dir "$build" --output-on-failure
