#!/usr/bin/env bash
# Builds libdeflate and zstd as static, position-independent libraries from the
# sources that the PyPI sdists `deflate` and `zstandard` vendor (pinned below), and
# puts zlib's headers and the system's libz.so.1 beside them, into one prefix that
# CMake finds through CMAKE_PREFIX_PATH. Prints the prefix's path on its last line.
#
#   bash scripts/build_deps.sh
#
# The compiler: zig (`zig cc -target $FRAGCOV_ZIG_TARGET`) when $FRAGCOV_ZIG is set
# (the release wheels, scripts/build_wheel.sh, and setup.sh's route without root when
# there is no compiler), else the system's cc. Built once per compiler, target and pins,
# under build/deps/<target>/. Needs $PYTHON with pip (scripts/python_env.sh), cmake,
# ninja, and zlib's headers: /usr/include/zlib.h, or $FRAGCOV_ZLIB_INCLUDE (setup.sh
# takes them from Debian's zlib1g-dev without root when they are missing).
# Why from source: the libraries must be static and built with the same compiler and
# glibc floor as the extension (Debian's libdeflate.a/libzstd.a are neither), and
# zig cannot use the system's -dev packages at all.
set -euo pipefail
cd "$(dirname "$0")/.."
ZSTANDARD_SDIST=zstandard==0.25.0 DEFLATE_SDIST=deflate==0.9.0 ZLIBNG_SDIST=zlib-ng==1.1.0
if [ -n "${FRAGCOV_ZIG:-}" ]; then
  target=${FRAGCOV_ZIG_TARGET:-x86_64-linux-gnu.2.28}
  cc=("$FRAGCOV_ZIG" cc -target "$target") ar=("$FRAGCOV_ZIG" ar)
  toolchain=(-DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/zig-toolchain.cmake")
  compiler="zig $("$FRAGCOV_ZIG" version) $target"
else
  target=system-$(uname -m)
  cc=("${CC:-cc}") ar=(ar) toolchain=()
  compiler="$("${CC:-cc}" --version | head -1)"
fi
deps=$PWD/build/deps/$target
prefix=$deps/prefix
stamp="$compiler $ZSTANDARD_SDIST $DEFLATE_SDIST"
if [ "$(cat "$prefix/stamp" 2>/dev/null)" != "$stamp" ]; then
  dep_start=$SECONDS
  rm -rf "$deps" && mkdir -p "$deps/src" "$prefix/include" "$prefix/lib"
  "${PYTHON:-python3}" scripts/pypi_sdist.py "$deps/src" "$ZSTANDARD_SDIST" "$DEFLATE_SDIST"
  for tarball in "$deps"/src/*.tar.gz; do tar -xzf "$tarball" -C "$deps/src"; done
  # libdeflate: its own CMake build, static, position-independent
  cmake -S "$deps"/src/deflate-*/libdeflate -B "$deps/libdeflate-build" -G Ninja "${toolchain[@]}" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCMAKE_INSTALL_LIBDIR=lib -DLIBDEFLATE_BUILD_SHARED_LIB=OFF -DLIBDEFLATE_BUILD_GZIP=OFF \
    -DLIBDEFLATE_BUILD_TESTS=OFF >/dev/null
  cmake --build "$deps/libdeflate-build" -j2 >/dev/null
  cmake --install "$deps/libdeflate-build" >/dev/null
  rm -rf "$prefix/lib/cmake"  # FindLibDeflate.cmake finds the library by its file
  # zstd: the single-file amalgamation (lib/ in one zstd.c) that zstandard vendors
  zstd_src=$(ls -d "$deps"/src/zstandard-*/zstd)
  "${cc[@]}" -O3 -DNDEBUG -fPIC -c "$zstd_src/zstd.c" -o "$deps/zstd.o"
  "${ar[@]}" rcs "$prefix/lib/libzstd.a" "$deps/zstd.o"
  cp "$zstd_src"/zstd.h "$zstd_src"/zstd_errors.h "$zstd_src"/zdict.h "$prefix/include/"
  echo "$stamp" > "$prefix/stamp"
  echo "==> static libdeflate + zstd built in $((SECONDS - dep_start)) s ($compiler)" >&2
fi
if [[ "$target" == *macos* ]]; then
  # a macOS target (scripts/cross_compile_macos.sh): no system zlib to link against here, so zlib's
  # API from source, static: zlib-ng in its zlib-compatible mode, from the PyPI sdist `zlib-ng`
  zlib_stamp="$stamp $ZLIBNG_SDIST"
  if [ "$(cat "$prefix/zlib/stamp" 2>/dev/null)" != "$zlib_stamp" ]; then
    rm -rf "$prefix/zlib" "$deps/zlib-build"
    "${PYTHON:-python3}" scripts/pypi_sdist.py "$deps/src" "$ZLIBNG_SDIST"
    tar -xzf "$deps"/src/zlib_ng-*.tar.gz -C "$deps/src"
    cmake -S "$(ls -d "$deps"/src/zlib_ng-*/src/zlib_ng/zlib-ng)" -B "$deps/zlib-build" -G Ninja "${toolchain[@]}" \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_INSTALL_PREFIX="$prefix/zlib" \
      -DCMAKE_INSTALL_LIBDIR=lib -DZLIB_COMPAT=ON -DBUILD_SHARED_LIBS=OFF -DBUILD_TESTING=OFF \
      -DWITH_GTEST=OFF -DWITH_GZFILEOP=ON >/dev/null
    cmake --build "$deps/zlib-build" -j2 >/dev/null
    cmake --install "$deps/zlib-build" >/dev/null
    echo "$zlib_stamp" > "$prefix/zlib/stamp"
  fi
  echo "$prefix"
  exit 0
fi
# zlib: its headers alone in a folder (never the rest of /usr/include, whose glibc headers are
# newer than zig's target) and the system's libz.so.1, which every Linux has and every manylinux
# policy takes from the system
zlib_include=${FRAGCOV_ZLIB_INCLUDE:-/usr/include}
[ -f "$zlib_include/zlib.h" ] || { echo "error: no zlib.h in $zlib_include (Debian: zlib1g-dev)" >&2; exit 1; }
mkdir -p "$prefix/zlib/include" "$prefix/zlib/lib"
cp "$zlib_include/zlib.h" "$zlib_include/zconf.h" "$prefix/zlib/include/"
libz=$(ls /usr/lib/x86_64-linux-gnu/libz.so.1 /lib/x86_64-linux-gnu/libz.so.1 /usr/lib64/libz.so.1 \
          /lib64/libz.so.1 /usr/lib/libz.so.1 2>/dev/null | head -1 || true)
[ -n "$libz" ] || { echo "error: the system has no libz.so.1 (Debian: zlib1g)" >&2; exit 1; }
ln -sf "$libz" "$prefix/zlib/lib/libz.so"
echo "$prefix"
