# Sourced by scripts/setup.sh when build dependencies are missing and apt-get cannot install
# them (not root, no passwordless sudo): gets each of them without root instead, into build/,
# and writes the environment that points CMake at them to build/no-root/env.sh, which
# scripts/python_env.sh sources in every later step (the build, the C++ tests, the sdist test).
#   - a C++ compiler: zig's clang, from the `ziglang` package on PyPI (the toolchain of the
#     release wheels, cmake/zig-toolchain.cmake), with its own libc headers and libc++;
#   - cmake and ninja: from PyPI;
#   - libdeflate and zstd: built from source, static (scripts/build_deps.sh, as for the wheels);
#   - Python.h, zlib.h and doctest (header-only): Debian's/Ubuntu's -dev packages, fetched with
#     `apt-get download` (no root needed) and unpacked into build/no-root/sysroot; when the
#     system's package lists are empty (e.g. a container), apt-get reads lists of its own,
#     fetched into build/no-root/apt.
# Expects: $missing (setup.sh's list of unmet needs), $tests, $PYTHON (python_env.sh).
no_root=$PWD/build/no-root
sysroot=$no_root/sysroot
echo "==> getting the build dependencies without root, into $no_root:"
echo "$missing" | cut -d'|' -f1 | sed 's/^/      /'
mkdir -p "$no_root"
{
  echo "# written by scripts/no_root.sh: build dependencies obtained without root"
} > "$no_root/env.sh.new"

# -dev packages from apt, unpacked without root
debs=$(echo "$missing" | cut -d'|' -f2 | grep -E -- '-dev$' | grep -v -E '^(libdeflate|libzstd)-dev$' | sort -u | xargs)
if [ -n "$debs" ]; then
  command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 \
    || { echo "error: no apt-get/dpkg-deb to fetch $debs without root" >&2; exit 1; }
  apt_opts=()
  if [ -z "$(apt-cache policy $debs 2>/dev/null | grep 'Candidate: [0-9]')" ]; then
    apt_opts=(-o "Dir::State::Lists=$no_root/apt/lists" -o "Dir::Cache=$no_root/apt/cache"
              -o Debug::NoLocking=1)
    mkdir -p "$no_root/apt/lists/partial" "$no_root/apt/cache/archives/partial"
    echo "==> apt-get update (package lists of our own, in $no_root/apt)"
    apt-get "${apt_opts[@]}" update -qq
  fi
  mkdir -p "$no_root/debs" && rm -f "$no_root"/debs/*.deb
  echo "==> apt-get download $debs"
  (cd "$no_root/debs" && apt-get "${apt_opts[@]}" download $debs >/dev/null)
  for deb in "$no_root"/debs/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
  # doctest's CMake package names its prefix as an absolute /usr: point it at the sysroot
  for f in "$sysroot"/usr/lib/cmake/doctest/doctestTargets.cmake; do
    [ -f "$f" ] && sed -i "s|set(_IMPORT_PREFIX \"/usr\")|set(_IMPORT_PREFIX \"$sysroot/usr\")|" "$f"
  done
  echo "export CMAKE_PREFIX_PATH=\"$sysroot/usr\${CMAKE_PREFIX_PATH:+:\$CMAKE_PREFIX_PATH}\"" >> "$no_root/env.sh.new"
fi
if [ -f "$sysroot/usr/include/zlib.h" ]; then  # for scripts/build_deps.sh
  echo "export FRAGCOV_ZLIB_INCLUDE=\"$sysroot/usr/include\"" >> "$no_root/env.sh.new"
  export FRAGCOV_ZLIB_INCLUDE=$sysroot/usr/include
fi
# Python.h: Debian's pyconfig.h dispatches to <x86_64-linux-gnu/python3.X/pyconfig.h>; one folder
# holding the headers with the real pyconfig.h needs no other include path
pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ -f "$sysroot/usr/include/python$pyver/Python.h" ]; then
  pyinc=$("$PYTHON" scripts/python_include.py "$no_root/python$pyver-include" "$sysroot/usr/include")
  {
    echo "export SKBUILD_CMAKE_DEFINE=\"Python_INCLUDE_DIR=$pyinc;Python3_INCLUDE_DIR=$pyinc\""
    echo "export FRAGCOV_PYTHON_INCLUDE_ROOT=\"$sysroot/usr/include\"  # scripts/build_wheel.sh"
  } >> "$no_root/env.sh.new"
fi

# the rest matters only when a library or the compiler is missing (not for a missing venv
# module or header-only doctest alone)
if ! echo "$missing" | grep -q -E '^(libdeflate.h|zstd.h|zlib.h|a C\+\+ compiler)\|'; then
  mv "$no_root/env.sh.new" "$no_root/env.sh"
  source "$no_root/env.sh"
  return 0
fi
# cmake, ninja and (without a compiler) zig, from PyPI
tools=("cmake>=3.21" ninja)
nocompiler=$(echo "$missing" | grep -c '^a C++ compiler|' || true)
[ "$nocompiler" = 1 ] && tools+=("ziglang==$(cat scripts/ziglang-version)")
echo "==> pip install ${tools[*]}"
"$PYTHON" -m pip install -q --disable-pip-version-check "${tools[@]}"
if [ "$nocompiler" = 1 ]; then
  FRAGCOV_ZIG=$("$PYTHON" -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')
  export FRAGCOV_ZIG FRAGCOV_ZIG_TARGET=x86_64-linux-gnu.2.28
  {
    echo "export FRAGCOV_ZIG=\"$FRAGCOV_ZIG\" FRAGCOV_ZIG_TARGET=$FRAGCOV_ZIG_TARGET"
    echo "export CMAKE_TOOLCHAIN_FILE=\"$PWD/cmake/zig-toolchain.cmake\""
  } >> "$no_root/env.sh.new"
fi

# libdeflate, zstd (static, from source) and zlib (headers + the system's libz.so.1)
prefix=$(bash scripts/build_deps.sh | tail -1)
echo "export CMAKE_PREFIX_PATH=\"$prefix:$prefix/zlib\${CMAKE_PREFIX_PATH:+:\$CMAKE_PREFIX_PATH}\"" >> "$no_root/env.sh.new"
mv "$no_root/env.sh.new" "$no_root/env.sh"
source "$no_root/env.sh"
