#!/usr/bin/env python3
"""Mutation check: does the default test suite notice when the C++ core computes a wrong number?

    python scripts/mutation_check.py [--only NAME ...] [--list] [--keep] [--markdown FILE]

Copies the repository (tracked and untracked, non-ignored files) to a temporary
folder, builds and installs it into a throwaway virtualenv (which sees this
interpreter's packages after its own, so numpy, pytest, snapatac2 ... come from
there, a virtualenv's too), and runs the default test suite - the C++ unit tests
(scripts/test_cpp.sh) and pytest in tests/, as scripts/test.sh does - first on the
unchanged code (which must pass), then once per mutant below. A mutant is one
regular-expression replacement in one C++ source; it must match exactly once,
else the script stops before building anything and says which pattern no longer
matches (update MUTANTS when the code it mutates changes).

Prints a table: each mutant and the tests that fail on it ("kill" it). Exit
status 0 when every mutant is killed, 1 when one survives, 2 on a setup problem.
Not part of the default test run: it takes about two minutes per mutant
(--first-kill with --pytest-args=-x: about one).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Mutant:
    name: str
    what: str       # the bug it plants, in words
    path: str       # C++ source, relative to the repository root
    pattern: str    # regular expression that must match exactly once
    replacement: str


# Whitespace in the patterns is matched loosely (\s*), so reformatting does not break them.
MUTANTS = [
    Mutant("bin-first-edge", "first bin of a unit computed from start+1 (a unit starting on a bin's "
           "last base skips that bin)", "cpp/src/export/binning.cpp",
           r"static_cast<uint32_t>\(\s*start\s*/\s*b\s*\)", "static_cast<uint32_t>((start + 1) / b)"),
    Mutant("bin-last-edge", "last bin of a unit computed from end instead of end-1 (a unit ending on a "
           "bin edge also counts in the next bin)", "cpp/src/export/binning.cpp",
           r"static_cast<uint32_t>\(\s*\(\s*end\s*-\s*1\s*\)\s*/\s*b\s*\)\s*\+\s*1",
           "static_cast<uint32_t>(end / b) + 1"),
    Mutant("region-overlap-start", "region overlap `<` -> `<=` at the region start (a unit ending where "
           "a region starts overlaps it)", "cpp/src/common/regions.cpp",
           r"it->start\s*<\s*end\b", "it->start <= end"),
    Mutant("region-overlap-end", "region overlap `<` -> `<=` at the region end (a unit starting where "
           "a region ends overlaps it)", "cpp/src/common/regions.cpp",
           r"return\s+s\s*<\s*iv\.end\s*;", "return s <= iv.end;"),
    Mutant("bpm-sum-plus-one", "BPM divides by (S + 1) / 1e6", "cpp/src/export/normalization.cpp",
           r"return\s+st\.bin_sum\s*/\s*1e6\s*;", "return (st.bin_sum + 1) / 1e6;"),
    Mutant("smooth-left-right-swapped", "smoothing window sides swapped (left = w-1-right)",
           "cpp/src/export/coverage.hpp",
           r"const\s+int64_t\s+left\s*=\s*\(\s*w\s*-\s*1\s*\)\s*/\s*2\s*,\s*right\s*=\s*w\s*-\s*1\s*-\s*left\s*;",
           "const int64_t right = (w - 1) / 2, left = w - 1 - right;"),
    Mutant("smooth-window-plus-one", "smoothing window one base wider (right = w - left)",
           "cpp/src/export/coverage.hpp",
           r"const\s+int64_t\s+left\s*=\s*\(\s*w\s*-\s*1\s*\)\s*/\s*2\s*,\s*right\s*=\s*w\s*-\s*1\s*-\s*left\s*;",
           "const int64_t left = (w - 1) / 2, right = w - left;"),
    Mutant("smooth-divisor-plus-one", "smoothed values divided by w+1", "cpp/src/export/writing.cpp",
           r"scale\.per\(\s*static_cast<double>\(\s*\*options\.smooth_base\s*\)\s*\)",
           "scale.per(static_cast<double>(*options.smooth_base + 1))"),
    Mutant("spill-read-offset", "spilled blocks read back from the start of the spill file",
           "cpp/src/export/unit_store.cpp",
           r"static_cast<off_t>\(\s*b\.offset\s*\+\s*done\s*\)", "static_cast<off_t>(done)"),
    Mutant("spill-block-dropped", "only the first spilled block of each (group, chromosome) is kept",
           "cpp/src/export/unit_store.cpp",
           r"shard\.blocks\[i\]\.push_back\(\s*\{\s*offset\s*,\s*buf\.size\(\)\s*/\s*2\s*\}\s*\)\s*;",
           "if (shard.blocks[i].empty()) shard.blocks[i].push_back({offset, buf.size() / 2});"),
    Mutant("merge-off", "touching records with equal values not merged", "cpp/src/output/track_writer.cpp",
           r"start\s*==\s*p_end_\s*&&\s*value\s*==\s*p_value_", "false"),
    Mutant("batch-merge-off", "a batch of one-base records does not continue the pending record "
           "(TrackWriter::add_unit_records)", "cpp/src/output/track_writer.cpp",
           r"start\s*\+\s*k\s*==\s*p_end_\s*&&\s*v\[k\]\s*==\s*p_value_", "false"),
    Mutant("batch-zero-written", "a zero in a batch of one-base records is kept as a record",
           "cpp/src/output/track_writer.cpp", r"if\s*\(\s*v\[m\]\s*!=\s*0\.0f\s*\)", "if (true)"),
    Mutant("batch-zoom-skipped", "one-base records written in batches leave the zoom levels out "
           "(BigWigFile::Chromosome::add_unit_records)", "cpp/src/output/bigwig_file.cpp",
           r"add_to_zoom\(\s*s\s*,\s*s\s*\+\s*1\s*,\s*values\[k\]\s*\)\s*;", "(void)0;"),
    Mutant("zero-records-written", "zero-valued records written", "cpp/src/output/track_writer.cpp",
           r"if\s*\(\s*value\s*==\s*0\.0f\s*\)\s*return\s*;", "(void)0;"),
    Mutant("chrom-end-cut-dropped", "last bin not cut at the chromosome end", "cpp/src/export/coverage.hpp",
           r"std::min<uint64_t>\(\s*next\s*\*\s*bin_size\s*,\s*chrom_length\s*\)",
           "(next * bin_size + 0 * chrom_length)"),  # chrom_length stays used: -Werror
    Mutant("unit-not-clipped", "units not clipped at the chromosome end before binning (bins past the "
           "end count in BPM's S)", "cpp/src/export/binning.cpp",
           r"end\s*=\s*std::min\(\s*end\s*,\s*len\s*\)\s*;", "(void)len;"),
    Mutant("insertion-end-shifted", "second insertion of a fragment at end instead of end-1",
           "cpp/src/export/binning.cpp",
           r"add_unit\(\s*slot\s*,\s*g\s*,\s*chrom\s*,\s*end\s*-\s*1\s*,\s*end\s*\)\s*;",
           "add_unit(slot, g, chrom, end, end + 1);"),
    Mutant("min-length-exclusive", "min_frag_length bound exclusive", "cpp/src/export/binning.cpp",
           r"len\s*<\s*min_len\b", "len <= min_len"),
    # the options other tools' users bring (docs/spec.md sections 3.5.5, 3.6, 4.9)
    Mutant("rpgc-by-count", "RPGC divides by the unit count N instead of their summed length L",
           "cpp/src/export/normalization.cpp", r"static_cast<double>\(\s*st\.norm_length\s*\)",
           "static_cast<double>(st.norm_count)"),
    Mutant("ceiling-plus-one", "a cell's count in a bin capped at ceiling + 1", "cpp/src/export/binning.cpp",
           r"std::min<int64_t>\(\s*\*options_\.ceiling\s*,", "std::min<int64_t>(*options_.ceiling + 1,"),
    Mutant("n-cells-plus-one", "n_cells divides by one cell more", "cpp/src/export/normalization.cpp",
           r"return\s+static_cast<double>\(\s*track\.n_cells\s*\)\s*;",
           "return static_cast<double>(track.n_cells + 1);"),
    Mutant("norm-by-per-thousand", "norm_by scales by 1e3 / Q instead of 1e4 / Q",
           "cpp/src/export/normalization.cpp",
           r"track\.norm_by_total\s*/\s*1e4", "track.norm_by_total / 1e3"),
    Mutant("scale-factor-ignored", "scale_factor not applied (the factor of every track's scale)",
           "cpp/src/export/normalization.cpp", r"return\s+o\.scale_factor\s*;", "return 0 * o.scale_factor + 1;"),
    Mutant("regions-not-cut", "records overlapping a region written whole, not cut at its end",
           "cpp/src/export/writing.hpp", r"std::min\(\s*e\s*,\s*regions_\[j\]\.end\s*\)",
           "(e + 0 * regions_[j].end)"),
    # comparison tracks (docs/spec.md section 14)
    Mutant("compare-rest-includes-group", "the rest of a group is every group, itself included",
           "cpp/src/export/comparison.cpp",
           r"ref\s*==\s*Track::kRest\s*\?\s*runs_\[g\]\s*:\s*kNoRuns", "kNoRuns"),
    Mutant("compare-rest-denominator-includes-group", "the rest's denominator counts the group itself",
           "cpp/src/export/normalization.cpp", r"if\s*\(\s*h\s*==\s*g\s*\)\s*continue\s*;", "(void)g;"),
    Mutant("compare-log2-pseudocount", "log2 adds the pseudocount twice to the reference side",
           "cpp/src/export/comparison.cpp", r"std::log2\(\s*\(\s*va\s*\+\s*p\s*\)\s*/\s*\(\s*vb\s*\+\s*p\s*\)\s*\)",
           "std::log2((va + p) / (vb + 2 * p))"),
    Mutant("compare-ratio-inverted", "ratio is reference / group",
           "cpp/src/export/comparison.cpp",
           r"Ratio:\s*return\s*\(\s*va\s*\+\s*p\s*\)\s*/\s*\(\s*vb\s*\+\s*p\s*\)\s*;",
           "Ratio: return (vb + p) / (va + p);"),
    Mutant("compare-difference-sign", "difference is reference - group", "cpp/src/export/comparison.cpp",
           r"default:\s*return\s+va\s*-\s*vb\s*;", "default: return vb - va;"),
    Mutant("compare-reference-unsmoothed", "with smooth_base only the group's side is smoothed",
           "cpp/src/export/comparison.cpp",
           r":\s*kNoRuns\s*,\s*window\s*,",  # a zero GCC cannot prove (a literal 0 makes -O3 warn)
           ": kNoRuns, (g == static_cast<size_t>(-1) ? window : int64_t{0}),"),
    # the reading paths of the one call (docs/spec.md 11.10, 13.6, 2.5.0)
    Mutant("files-rows-not-mapped", "a fragment file's chunks keep the cells' rows instead of their groups",
           "cpp/src/pipeline/fragment_files.cpp",
           r"chunk\.cells\[i\]\s*=\s*o\.group_of_cell\[chunk\.cells\[i\]\]\s*;", "(void)0;"),
    Mutant("files-collision-ignored", "a cell in two fragment files is merged instead of refused",
           "cpp/src/pipeline/fragment_files.cpp",
           r"if\s*\(\s*check_collisions\s*&&", "if (false && check_collisions &&"),
    Mutant("files-later-error-wins", "with two bad fragment files the last error read is raised",
           "cpp/src/pipeline/fragment_files.cpp",
           r"std::rethrow_exception\(\s*s\.errors\.begin\(\)->second\s*\)",
           "std::rethrow_exception(s.errors.rbegin()->second)"),
    Mutant("h5ad-subset-not-gathered", "a subset of an .h5ad's cells is read as the whole range between them",
           "cpp/src/pipeline/h5ad_cells.cpp", r"if\s*\(\s*!chunk->contiguous\s*\)", "if (false)"),
    Mutant("h5ad-chunk-read-skipped", "the binning thread does not run the chunk's read (columns never read)",
           "cpp/src/pipeline/bin_chunks.cpp", r"if\s*\(\s*read\s*\)\s*read\(\s*cells\s*,\s*slot\s*\)\s*;",
           "(void)read;"),
    Mutant("h5ad-blosc-lz4-accepted", "Blosc chunks of any compressor are taken for zstd ones",
           "cpp/src/input/hdf5_column.cpp", r"f\.values\[6\]\s*==\s*kBloscZstd", "(f.values[6] | kBloscZstd | 1)"),
    Mutant("h5ad-addresses-unchecked", "chunk addresses are trusted without reading chunk 0 there",
           "cpp/src/input/hdf5_column.cpp",
           r"!first_chunk_in_place\(\s*fd\s*,\s*address\[0\]\s*,\s*size\[0\]\s*,\s*layout\.first_chunk\s*\)",
           "(false && !first_chunk_in_place(fd, address[0], size[0], layout.first_chunk))"),
]


def fail(msg: str) -> None:
    print(f"mutation_check: {msg}", file=sys.stderr)
    sys.exit(2)


def run(cmd, cwd, log, env=None, timeout=None) -> tuple[int, str]:
    """Runs cmd, appends its output to log; returns (exit status or None on timeout, output)."""
    t = time.time()
    try:
        # errors="replace": a mutant can make a test print bytes that are not UTF-8
        r = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, errors="replace", timeout=timeout)
        code, out = r.returncode, r.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout or ""
        code, out = None, out.decode(errors="replace") if isinstance(out, bytes) else out
    with open(log, "a") as fh:
        fh.write(f"\n$ {' '.join(map(str, cmd))}  (in {cwd}, {time.time() - t:.0f} s, exit {code})\n{out}")
    return code, out


def repo_files(root: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    return [f for f in out.split("\0") if f and (root / f).is_file()]


def apply(mutant: Mutant, tree: Path, dry=False) -> str:
    """Applies mutant to tree (or only checks it with dry); returns the original text."""
    path = tree / mutant.path
    if not path.is_file():
        fail(f"mutant {mutant.name}: {mutant.path} does not exist; update MUTANTS in {Path(__file__).name}")
    text = path.read_text()
    new, n = re.subn(mutant.pattern, lambda m: mutant.replacement, text)
    if n != 1:
        fail(f"mutant {mutant.name}: pattern {mutant.pattern!r} matches {n} times in {mutant.path}, expected "
             f"exactly once. The code it mutates ({mutant.what}) has changed: update MUTANTS in "
             f"{Path(__file__).name}.")
    if not dry:
        path.write_text(new)
    return text


def build_and_install(tree: Path, python: Path, log: Path) -> bool:
    isolation = [] if _has_build_backend(python) else None
    cmd = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
           "--force-reinstall"]
    if isolation is not None:
        cmd.append("--no-build-isolation")  # the backend is installed: build offline, reuse the build dir
    code, _ = run(cmd + [str(tree)], tree, log)
    return code == 0


def _see_packages_of_this_python(python: Path) -> None:
    """The throwaway venv sees this interpreter's packages (numpy, pytest, snapatac2, pip, the build
    backend; from a virtualenv too, which --system-site-packages would skip) after its own, so that
    the mutant installed into it shadows any fragcov here."""
    import sysconfig

    own = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    paths = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (Path(own) / "_mutation_check_parent.pth").write_text("\n".join(paths) + "\n")


def _has_build_backend(python: Path) -> bool:
    return subprocess.run([str(python), "-c", "import scikit_build_core, pybind11"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def _env(python: Path) -> dict:
    return dict(os.environ, PYTHON=str(python), FRAGCOV_REQUIRE_SNAPATAC2="1",
                PATH=f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}")


def run_cpp_tests(tree: Path, python: Path, log: Path, timeout: int, release: bool = False) -> list[str]:
    """The C++ unit tests (sanitized, or with release an optimized build; -Werror); returns the failing
    test cases."""
    code, out = run(["bash", "scripts/test_cpp.sh", *(["--release"] if release else [])], tree, log,
                    env=_env(python), timeout=timeout)
    if code is None:
        return ["C++ unit tests: timeout"]
    if code != 0 and "Test project" not in out:  # ctest never started: the build failed
        fail(f"the C++ unit tests do not build (-Werror, sanitizers) with this code; see {log}")
    if code != 0:
        cases = sorted(set(re.findall(r"^TEST CASE:\s+(.+?)\s*$", out, flags=re.M)))
        return [f"cpp: {c}" for c in cases] or ["cpp: build or run failed (see log)"]
    return []


def run_pytest(tree: Path, python: Path, log: Path, pytest_args: list[str], timeout: int) -> list[str]:
    """pytest from tests/ on the installed build; returns the failing tests."""
    failed: list[str] = []
    junit = tree / "pytest-junit.xml"
    if junit.exists():
        junit.unlink()
    code, out = run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
                     *pytest_args], tree / "tests", log, env=_env(python), timeout=timeout)
    if code is None:
        failed.append("pytest: timeout")
    elif junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                module = case.get("classname", "").split(".")[-1]
                failed.append(f"{module}.py::{case.get('name')}")
    elif code != 0:
        failed.append("pytest: did not run (see log)")
    return failed


def run_suite(tree: Path, python: Path, log: Path, pytest_args: list[str], timeout: int,
              first_kill: bool = False, cpp_release: bool = False) -> list[str]:
    """The default suite: C++ unit tests, then (installed) pytest in tests/. Returns the failing tests;
    with first_kill, pytest is skipped once the C++ tests fail."""
    failed = run_cpp_tests(tree, python, log, timeout, cpp_release)
    if failed and first_kill:
        return failed
    if not build_and_install(tree, python, log):
        fail(f"the code does not build into the package; see {log}")
    return failed + run_pytest(tree, python, log, pytest_args, timeout)


def summarise(tests: list[str], limit: int = 8) -> str:
    """test ids grouped by test function: 'file::test (n params)'."""
    groups: dict[str, int] = {}
    for t in tests:
        groups[re.sub(r"\[.*\]$", "", t)] = groups.get(re.sub(r"\[.*\]$", "", t), 0) + 1
    items = [f"`{k}`" + (f" ({n})" if n > 1 else "") for k, n in sorted(groups.items(), key=lambda kv: -kv[1])]
    more = f", ... {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutants")
    ap.add_argument("--list", action="store_true", help="list the mutants and check their patterns, build nothing")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (copy, venv, log)")
    ap.add_argument("--skip-baseline", action="store_true", help="do not run the suite on the unchanged code first")
    ap.add_argument("--markdown", metavar="FILE", help="also write the result table to FILE")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per suite run (a hang counts as a kill)")
    ap.add_argument("--first-kill", action="store_true",
                    help="a mutant the C++ unit tests kill is not also run through pytest (faster; the table "
                         "then lists the C++ cases only)")
    ap.add_argument("--cpp-release", action="store_true",
                    help="run the C++ unit tests in the Release build (scripts/test_cpp.sh --release: a few "
                         "times faster than the sanitized one)")
    ap.add_argument("--pytest-args", default="",
                    help="extra pytest arguments, written with '=': --pytest-args=-x or --pytest-args='-x -k bw'")
    a = ap.parse_args()

    mutants = MUTANTS
    if a.only:
        unknown = set(a.only) - {m.name for m in MUTANTS}
        if unknown:
            fail(f"unknown mutant(s) {sorted(unknown)}; --list shows them")
        mutants = [m for m in MUTANTS if m.name in a.only]
    for m in mutants:  # every pattern must match once before anything is built
        apply(m, ROOT, dry=True)
    if a.list:
        for m in mutants:
            print(f"{m.name:28} {m.path:26} {m.what}")
        return 0

    work = Path(tempfile.mkdtemp(prefix="fragcov-mutation-"))
    tree, venv, log = work / "repo", work / "venv", work / "log.txt"
    print(f"work folder {work} (log: {log})", flush=True)
    try:
        for f in repo_files(ROOT):
            dst = tree / f
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dst)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        python = venv / "bin" / "python"
        _see_packages_of_this_python(python)
        pytest_args = a.pytest_args.split()

        if not a.skip_baseline:
            print("baseline (unchanged code) ...", flush=True)
            base = run_suite(tree, python, log, pytest_args, a.timeout, cpp_release=a.cpp_release)
            if base:
                fail(f"the suite fails on the unchanged code: {base[:10]}; see {log}")

        rows = []
        for m in mutants:
            t = time.time()
            original = apply(m, tree)
            try:
                failed = run_suite(tree, python, log, pytest_args, a.timeout, a.first_kill, a.cpp_release)
            finally:
                (tree / m.path).write_text(original)
            killed = bool(failed)
            rows.append((m, killed, failed))
            print(f"{m.name}: {'killed by ' + str(len(failed)) + ' tests' if killed else 'SURVIVED'} "
                  f"({time.time() - t:.0f} s)", flush=True)
        if not build_and_install(tree, python, log):  # leave the venv with the unchanged build
            print("warning: rebuilding the unchanged code failed", file=sys.stderr)

        lines = ["| mutant | planted bug | result | killing tests |", "|---|---|---|---|"]
        for m, killed, tests in rows:
            lines.append(f"| `{m.name}` | {m.what} ({m.path}) | "
                         f"{'killed (' + str(len(tests)) + ')' if killed else '**survived**'} | "
                         f"{summarise(tests) if killed else '-'} |")
        table = "\n".join(lines)
        print("\n" + table)
        if a.markdown:
            details = [f"\n{m.name}:\n" + "".join(f"  {t}\n" for t in tests) for m, _, tests in rows]
            Path(a.markdown).write_text(table + "\n\nEvery killing test:\n" + "".join(details))
        survivors = [m.name for m, killed, _ in rows if not killed]
        if survivors:
            print(f"\nsurvived: {', '.join(survivors)}", file=sys.stderr)
        return 1 if survivors else 0
    finally:
        if a.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
