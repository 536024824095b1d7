# CMake toolchain for the release wheels (scripts/build_wheel.sh selects it with
# -C cmake.define.CMAKE_TOOLCHAIN_FILE=...), for builds without root on a machine
# without a compiler (scripts/no_root.sh) and for CI's macOS cross-compile check
# (scripts/cross_compile_macos.sh); source installs with a compiler, conda and
# the sanitized C++ tests use the system compiler and never read this file.
#
# `zig cc` / `zig c++` (zig's clang, from the `ziglang` package on PyPI) link
# against stubs of an older glibc than the build machine's, named in the
# target: x86_64-linux-gnu.2.28 gives a binary that needs no symbol newer than
# GLIBC_2.28, the manylinux_2_28 floor (RHEL/Rocky/Alma 8, Debian 10, Ubuntu
# 20.04), whatever glibc the build machine has. zig links its own libc++,
# libc++abi and libunwind statically, so the extension needs no libstdc++ at
# all (no GLIBCXX_* symbol versions). The CPU is the target's baseline (x86-64),
# as for GCC; libdeflate and zstd pick their SIMD code paths at run time.
#
# Environment:
#   FRAGCOV_ZIG         the zig executable (build_wheel.sh: the one of the
#                       `ziglang` package); default: `zig` on PATH
#   FRAGCOV_ZIG_TARGET  default x86_64-linux-gnu.2.28
#
# CMake wants one executable per tool, so small wrapper scripts
# (`zig c++ -target ... "$@"`) are written next to this build's files, in
# build/zig-<target>/ of the source tree that holds this file.
if(DEFINED ENV{FRAGCOV_ZIG} AND NOT "$ENV{FRAGCOV_ZIG}" STREQUAL "")
  set(_fragcov_zig "$ENV{FRAGCOV_ZIG}")
else()
  find_program(_fragcov_zig NAMES zig REQUIRED)
endif()
if(DEFINED ENV{FRAGCOV_ZIG_TARGET} AND NOT "$ENV{FRAGCOV_ZIG_TARGET}" STREQUAL "")
  set(_fragcov_zig_target "$ENV{FRAGCOV_ZIG_TARGET}")
else()
  set(_fragcov_zig_target "x86_64-linux-gnu.2.28")
endif()

# a macOS target (scripts/cross_compile_macos.sh: CI's compile-and-link check of the library and
# its C++ tests) is a cross build: CMake must not take this Linux host's platform rules
if(_fragcov_zig_target MATCHES "macos")
  set(CMAKE_SYSTEM_NAME Darwin)
  set(CMAKE_SYSTEM_PROCESSOR "${_fragcov_zig_target}")
  string(REGEX REPLACE "-.*" "" CMAKE_SYSTEM_PROCESSOR "${CMAKE_SYSTEM_PROCESSOR}")
  set(CMAKE_OSX_SYSROOT "/")  # zig brings macOS's headers and libSystem stubs; there is no SDK here
endif()

set(_fragcov_zig_dir "${CMAKE_CURRENT_LIST_DIR}/../build/zig-${_fragcov_zig_target}")
foreach(_tool cc c++ ar ranlib)
  if(_tool STREQUAL "cc" OR _tool STREQUAL "c++")
    set(_args "${_tool} -target ${_fragcov_zig_target}")
  else()
    set(_args "${_tool}")
  endif()
  set(_script "#!/bin/sh\nexec \"${_fragcov_zig}\" ${_args} \"$@\"\n")
  set(_path "${_fragcov_zig_dir}/zig-${_tool}")
  set(_old "")
  if(EXISTS "${_path}")
    file(READ "${_path}" _old)
  endif()
  if(NOT _old STREQUAL _script)  # rewritten only when it changes: CMake compares timestamps
    file(WRITE "${_path}" "${_script}")
    file(CHMOD "${_path}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                      WORLD_READ WORLD_EXECUTE)
  endif()
endforeach()

set(CMAKE_C_COMPILER "${_fragcov_zig_dir}/zig-cc")
set(CMAKE_CXX_COMPILER "${_fragcov_zig_dir}/zig-c++")
set(CMAKE_AR "${_fragcov_zig_dir}/zig-ar" CACHE FILEPATH "zig ar")
set(CMAKE_RANLIB "${_fragcov_zig_dir}/zig-ranlib" CACHE FILEPATH "zig ranlib")
# The statically linked libc++/libc++abi/libunwind (and libdeflate, zstd) stay
# inside the extension: a version script exports PyInit_* alone, so they never
# interpose another module's C++ runtime loaded in the same Python process
# (zig's linker has no --exclude-libs).
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-Wl,--version-script=${CMAKE_CURRENT_LIST_DIR}/zig-python-module.map")
# Everything is linked statically but the system's libz.so.1: no RPATH needed
# (CMake would add the folder of libz.so, which zig does not search by itself).
set(CMAKE_SKIP_RPATH ON)
