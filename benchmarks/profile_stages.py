#!/usr/bin/env python3
"""Where fragcov's export time goes, by stage, from CPU samples (Linux `perf`).

Imports fragcov first, then attaches `perf record` to this process for the
export alone (imports excluded), and sorts the samples into stages by shared
object and symbol:

  read       HDF5 + Blosc/zstd decoding + h5py, or the core's Hdf5Column and
             the decompressors it calls (the input)
  bin        fragcov core: units, radix sort, sweep, smoothing
  encode     record merging, bigWig sections and zoom levels, or bedGraph text (to_chars)
  compress   libdeflate and our small-block deflate (bigWig), zstd / zlib (bedGraph)
  kernel     file writes, page faults, thread wake-ups
  python     the interpreter, numpy, pandas (chunk slicing, obs)
  other      everything else (e.g. idle BLAS threads of scipy)

CPU seconds per stage = share of samples x the process CPU time of the export.

  python benchmarks/profile_stages.py /tmp/fragcov-bench/data/frag10M_c2000_g8_s1/data.h5ad
  python benchmarks/profile_stages.py DATA.h5ad --suffix .bedgraph.zst --n-jobs 2
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def stage_of(dso: str, sym: str, zstd_output: bool = False) -> str:
    """zstd_output: the export writes zstd; otherwise libzstd only decodes the
    input (Blosc/zstd chunks read by the core), whose symbols are often stripped."""
    d, s = dso.lower(), sym
    if "zstd" in d and not zstd_output:
        return "read"
    if "hdf5" in d or "blosc" in d or "h5py" in d or "/h5" in d or d.startswith("h5"):
        return "read"
    # the core's own .h5ad reader (Hdf5Column) and the decompressors it calls:
    # output is only ever compressed
    if "Hdf5Column" in s or "decompress" in s.lower() or "unshuffle" in s:
        return "read"
    if "deflate" in d or "zstd" in d or d.startswith("libz.") or d.startswith("libz-"):
        return "compress"
    if "_core" in d:
        if "StaticDeflate" in s or "BigWigFile::compress" in s:  # our own small-block deflate
            return "compress"
        if "BigWigFile" in s or "BedGraphWriter" in s or "TrackWriter" in s:
            return "encode"
        return "bin"
    if "libstdc++" in d:  # std::to_chars of the bedGraph writer, string appends
        return "encode"
    if "kernel" in d:
        return "kernel"
    if "python" in d or "numpy" in d or "_multiarray" in d or "pandas" in d:
        return "python"
    return "other"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("h5ad")
    ap.add_argument("--groupby", default="group")
    ap.add_argument("--suffix", default=".bw")
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--option", action="append", default=[],
                    help="extra export_coverage argument as name=python_literal, e.g. bin_size=20")
    a = ap.parse_args()
    if shutil.which("perf") is None:
        sys.exit("perf is not installed (Debian: apt-get install linux-perf)")

    import ast
    import fragcov
    fragcov.set_quiet(True)
    extra = {k: ast.literal_eval(v) for k, v in (o.split("=", 1) for o in a.option)}
    out = tempfile.mkdtemp(prefix="fragcov-profile-")
    data = os.path.join(out, "perf.data")
    perf = subprocess.Popen(["perf", "record", "-q", "-F", "999", "-p", str(os.getpid()), "-o", data],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # let perf attach
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    fragcov.export_coverage(a.h5ad, groupby=a.groupby, out_dir=out, suffix=a.suffix, n_jobs=a.n_jobs, **extra)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    perf.send_signal(signal.SIGINT)
    perf.wait()
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)

    report = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,symbol",
                             "--stdio", "-q", "--percent-limit", "0"],
                            capture_output=True, text=True, check=True).stdout
    shares: dict[str, float] = {}
    for line in report.splitlines():
        parts = line.split(None, 2)
        if len(parts) < 3 or not parts[0].endswith("%"):
            continue
        pct = float(parts[0].rstrip("%"))
        dso, rest = parts[1], parts[2]
        sym = rest.split("]", 1)[-1].strip() if "]" in rest else rest
        st = stage_of(dso, sym, zstd_output=a.suffix.lower().endswith((".zst", ".zstd")))
        shares[st] = shares.get(st, 0.0) + pct
    shutil.rmtree(out, ignore_errors=True)

    total = sum(shares.values()) or 1.0
    print(f"{a.h5ad}: suffix {a.suffix}, n_jobs {a.n_jobs} {extra or ''}")
    print(f"wall {wall:.2f} s, CPU {cpu:.2f} s (export only)\n")
    print("| stage | share of CPU | CPU s |")
    print("|---|---:|---:|")
    for st in ("read", "bin", "encode", "compress", "kernel", "python", "other"):
        p = shares.get(st, 0.0) / total
        print(f"| {st} | {100 * p:.0f}% | {p * cpu:.2f} |")


if __name__ == "__main__":
    main()
