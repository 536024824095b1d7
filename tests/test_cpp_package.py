"""The installed C++ package: find_package(fragcov CONFIG) works for another project (docs/spec.md section 11.9),
and its one call exports from cells in memory and from a fragment file (section 11.10).

Builds and installs the library with -DFRAGCOV_BUILD_PYTHON=OFF into a
temporary prefix, builds examples/ against that prefix with nothing but
-DCMAKE_PREFIX_PATH (so the static library's link dependencies must come from
the exported target), runs the example and checks the bedGraph files it writes
against values worked out by hand from docs/spec.md section 3.

This is a real build (~30 s on two cores). It reads the repository's sources
(CMakeLists.txt, cmake/, cpp/, examples/), which therefore must be next to tests/.
"""
from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import project_version

REPO = Path(__file__).resolve().parents[1]


def _cxx_compiler() -> str | None:
    if os.environ.get("CMAKE_TOOLCHAIN_FILE"):  # cmake reads it (zig's clang without root: scripts/no_root.sh)
        return os.environ["CMAKE_TOOLCHAIN_FILE"]
    cxx = os.environ.get("CXX")
    if cxx:
        return shutil.which(cxx.split()[0])
    return next((p for p in map(shutil.which, ("c++", "g++", "clang++")) if p), None)


def _run(cmd: list[str], cwd: Path | None = None, timeout: float = 300) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)
    assert proc.returncode == 0, f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stdout}"
    return proc.stdout


# Expected output of examples/export_example.cpp, worked out by hand from the
# fragments hard-coded in it (cell: chrom:start +length):
#   genome chr1 = 1000 bp, chr2 = 500 bp (chr2:x is genome position 1000 + x);
#   bin_size=10, normalization="CPM", max_frag_length=2000, fragment counting,
#   no blacklist / include / exclude regions.
#
# Group B = cells 0 and 1:
#   chr1:100 +50 -> unit [100,150)  -> bins 10..14 ([100,150))
#   chr1:120 +15 -> unit [120,135)  -> bins 12,13  ([120,140))
#   chr1:0 +2500 -> longer than max_frag_length=2000: dropped (3.1), not counted in N
#   chr1:995 +10 -> unit [995,1005) -> cut at the chromosome end (3.5): bin 99 ([990,1000))
#   chr2:10 +20  -> unit [10,30)    -> bins 1,2    ([10,30))
#   N = 4 units (3.4), CPM factor 1e6 / 4 = 250000 (3.6).
#   Bin values chr1: 1 on [100,120), 2 on [120,140), 1 on [140,150), 1 on [990,1000);
#   chr2: 1 on [10,30). Equal neighbours merge, zeros are not written (3.8):
B_EXPECTED = [
    "chr1\t100\t120\t250000",
    "chr1\t120\t140\t500000",
    "chr1\t140\t150\t250000",
    "chr1\t990\t1000\t250000",
    "chr2\t10\t30\t250000",
]
# Group T = cell 2:
#   chr1:100 +50 -> [100,150)  -> bins 10..14, value 1 each
#   chr2:485 +30 -> [485,515)  -> cut to [485,500) -> bins 48,49 = [480,500)
#   N = 2, CPM factor 1e6 / 2 = 500000; bins 10..14 merge into one record.
T_EXPECTED = [
    "chr1\t100\t150\t500000",
    "chr2\t480\t500\t500000",
]
# Cell 3 (chr1:500 +100) has group -1 and appears in neither track.


def test_installed_package_builds_and_runs_example(tmp_path):
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake is not installed")
    if _cxx_compiler() is None:
        pytest.skip("no C++ compiler (c++, g++, clang++ or $CXX) found")
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []

    prefix, lib_build, ex_build, out = (tmp_path / d for d in ("prefix", "build-lib", "build-example", "tracks"))
    release = ["-DCMAKE_BUILD_TYPE=Release"]

    # 1. the library: configure, build, install (README "C++" section)
    _run([cmake, "-S", REPO, "-B", lib_build, *generator, *release,
          "-DFRAGCOV_BUILD_PYTHON=OFF", f"-DCMAKE_INSTALL_PREFIX={prefix}"])
    _run([cmake, "--build", lib_build, "-j2"])
    _run([cmake, "--install", lib_build])

    headers = sorted(p.name for p in (prefix / "include" / "fragcov").glob("*.hpp"))
    assert headers == ["cancelled.hpp", "cell_chunk.hpp", "exporter.hpp", "fragcov.hpp", "fragment_file.hpp",
                       "fragment_files.hpp", "genome.hpp", "h5ad_columns.hpp", "hdf5_layout.hpp", "options.hpp",
                       "pipeline.hpp", "profile.hpp", "regions.hpp", "track_writer.hpp"]
    libs = list(prefix.glob("lib*/libfragcov.a")) + list(prefix.glob("lib*/fragcov.lib"))
    assert libs, "static library not installed"
    configs = list(prefix.glob("lib*/cmake/fragcov/fragcovConfig.cmake"))
    assert len(configs) == 1
    for f in ("fragcovConfigVersion.cmake", "fragcovTargets.cmake", "FindZstd.cmake", "FindLibDeflate.cmake"):
        assert (configs[0].parent / f).is_file(), f

    # 2. the example: a separate project that only knows the prefix
    _run([cmake, "-S", REPO / "examples", "-B", ex_build, *generator, *release,
          f"-DCMAKE_PREFIX_PATH={prefix}"])
    _run([cmake, "--build", ex_build, "-j2"])
    exe = next(p for p in (ex_build / "export_example", ex_build / "export_example.exe") if p.exists())

    stdout = _run([exe, out], timeout=60)
    assert stdout.splitlines()[0] == f"fragcov {project_version()}"  # fragcov::version()
    config_version = (configs[0].parent / "fragcovConfigVersion.cmake").read_text()
    numbers = re.match(r"[0-9]+(\.[0-9]+)*", project_version()).group(0)  # CMake takes "0.2.0" of "0.2.0rc1"
    assert f'set(PACKAGE_VERSION "{numbers}")' in config_version

    # 3. the tracks (bedGraph: chrom<TAB>start<TAB>end<TAB>value, whole numbers without ".0")
    assert sorted(p.name for p in out.iterdir()) == ["B.bedGraph", "T.bedGraph"]
    assert (out / "B.bedGraph").read_text().splitlines() == B_EXPECTED
    assert (out / "T.bedGraph").read_text().splitlines() == T_EXPECTED

    # 4. the same fragments as a gzip fragment file (cell 3 not in the table), in one call
    #    (FragmentFiles -> export_coverage, spec 11.10): the same tracks
    frag, sizes, groups, out2 = (tmp_path / n for n in ("fragments.tsv.gz", "chrom.sizes", "groups.tsv", "tracks2"))
    with gzip.open(frag, "wt") as fh:
        fh.write("# a Cell Ranger style header line\n"
                 "chr1\t100\t150\tc0\t1\nchr1\t120\t135\tc0\t2\n"
                 "chr1\t0\t2500\tc1\t1\nchr1\t995\t1005\tc1\t1\nchr2\t10\t30\tc1\t1\n"
                 "chr1\t100\t150\tc2\t1\nchr2\t485\t515\tc2\t1\n"
                 "chr1\t500\t600\tc3\t1\nchrUn\t1\t50\tc0\t1\n")
    sizes.write_text("chr1\t1000\nchr2\t500\n")
    groups.write_text("c0\tB\nc1\tB\nc2\tT\n")
    exe2 = next(p for p in (ex_build / "fragment_file_example", ex_build / "fragment_file_example.exe")
                if p.exists())
    stdout = _run([exe2, frag, sizes, groups, out2], timeout=60)
    assert "1 lines on other chromosomes" in stdout
    assert sorted(p.name for p in out2.iterdir()) == ["B.bedGraph", "T.bedGraph"]
    assert (out2 / "B.bedGraph").read_text().splitlines() == B_EXPECTED
    assert (out2 / "T.bedGraph").read_text().splitlines() == T_EXPECTED
