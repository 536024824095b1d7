#!/usr/bin/env python3
"""A/B of fragcov builds and n_jobs on one export, interleaved so that a busy
machine's noise falls on every variant alike.

Each run is a fresh process of the given interpreter (a venv with that build
installed) exporting DATA (an .h5ad, or a fragment file with --groupby TABLE
--option chrom_sizes='"..."') with the default bigWig options. Per run: wall
and CPU seconds (user + sys, all threads) of the export call, peak RSS, and a
sha256 over the output files. Reports the median of --repeat runs per variant
and whether the outputs of every variant are byte-identical.

  python benchmarks/ab_n_jobs.py DATA.h5ad --python base=/tmp/venv-main/bin/python \\
      --python new=/path/venv/bin/python --n-jobs 1,2 --repeat 3 [--nice -10]
  python benchmarks/ab_n_jobs.py DIR/fragments.position.tsv.gz --groupby DIR/groups.tsv \
      --option chrom_sizes='"DIR/chrom.sizes"' --python ... --n-jobs 1,2

--nice (root only for negative values) runs each worker in a session of its
own at that priority (its scheduler autogroup's nice: with autogroups, a
process's own nice only counts against processes of its session), so that
other processes on a shared machine take less of its wall time.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

WORKER = r"""
import hashlib, json, os, resource, shutil, sys, tempfile, time
import fragcov
fragcov.set_quiet(True)
# the libraries an export may use, imported before the clock starts: builds that import them lazily
# (at the first .h5ad read) and builds that imported them with fragcov are then timed on the export alone
for name in ("numpy", "pandas", "h5py", "hdf5plugin", "anndata", "fragcov._export"):
    try:
        __import__(name)
    except ImportError:
        pass
data, n_jobs, extra, groupby = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
out = tempfile.mkdtemp(prefix="fragcov-ab-")
r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
fragcov.export_coverage(data, groupby, out_dir=out, n_jobs=n_jobs, **extra)
wall = time.perf_counter() - t0
r1 = resource.getrusage(resource.RUSAGE_SELF)
h = hashlib.sha256()
for name in sorted(os.listdir(out)):
    h.update(name.encode())
    with open(os.path.join(out, name), "rb") as fh:
        h.update(fh.read())
shutil.rmtree(out)
print(json.dumps(dict(wall=wall, cpu=r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime,
                      rss_mb=r1.ru_maxrss / 1024, sha=h.hexdigest()[:16])))
"""


def _prioritise(nice: int) -> None:
    os.setsid()  # a new session is a new autogroup
    os.nice(nice)
    try:
        with open("/proc/self/autogroup", "w") as fh:
            fh.write(str(nice))
    except OSError:
        pass  # no autogroups: the process nice is what counts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--groupby", default="group", help="obs column of an .h5ad, or a fragment file's groups table")
    ap.add_argument("--python", action="append", required=True, help="NAME=interpreter")
    ap.add_argument("--n-jobs", default="1,2")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--nice", type=int, default=0)
    ap.add_argument("--taskset", default=None, help="CPU list for taskset, e.g. 0,1")
    ap.add_argument("--option", action="append", default=[], help="name=json_value, e.g. suffix='\".bedgraph.zst\"'")
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME=json object of export options, run for every --python, e.g. "
                         "ceiling='{\"ceiling\": 4}' (outputs of different variants differ, of course)")
    a = ap.parse_args()
    extra = {k: json.loads(v) for k, v in (o.split("=", 1) for o in a.option)}
    option_sets = [("", {})] + [(n, json.loads(v)) for n, v in (x.split("=", 1) for x in a.variant)]
    variants = [(f"{name}{'+' + vn if vn else ''}", py, int(j), {**extra, **vo})
                for name, py in (p.split("=", 1) for p in a.python) for vn, vo in option_sets
                for j in a.n_jobs.split(",")]
    runs: dict = {v[:3]: [] for v in variants}
    for r in range(a.repeat):
        for v in variants:
            name, py, j, opts = v
            cmd = [py, "-c", WORKER, a.data, str(j), json.dumps(opts), a.groupby]
            if a.taskset:
                cmd = ["taskset", "-c", a.taskset] + cmd
            p = subprocess.run(cmd, capture_output=True, text=True, cwd="/tmp",
                               preexec_fn=(lambda: _prioritise(a.nice)) if a.nice else None)
            if p.returncode:
                sys.exit(f"{name} n_jobs={j} failed:\n{p.stderr[-3000:]}")
            rec = json.loads(p.stdout.strip().splitlines()[-1])
            runs[v[:3]].append(rec)
            print(f"[{r + 1}/{a.repeat}] {name:8s} n_jobs={j}: wall {rec['wall']:.2f} s, CPU {rec['cpu']:.2f} s, "
                  f"peak RSS {rec['rss_mb']:.0f} MB, sha {rec['sha']}", file=sys.stderr, flush=True)
    print("| build | n_jobs | wall s (median) | wall min-max | CPU s (median) | peak RSS MB (max) |")
    print("|---|---:|---:|---:|---:|---:|")
    med = {}
    for v, rs in runs.items():
        walls = [x["wall"] for x in rs]
        med[v] = statistics.median(walls)
        print(f"| {v[0]} | {v[2]} | {med[v]:.2f} | {min(walls):.2f}-{max(walls):.2f} | "
              f"{statistics.median(x['cpu'] for x in rs):.2f} | {max(x['rss_mb'] for x in rs):.0f} |")
    variants = [v[:3] for v in variants]
    names = sorted({v[0] for v in variants}, key=[v[0] for v in variants].index)
    jobs = sorted({v[2] for v in variants})
    if len(jobs) > 1:
        for name in names:
            base = med[(name, dict((v[0], v[1]) for v in variants)[name], jobs[0])]
            ratios = ", ".join(f"n_jobs={jj}: {base / med[(n, py, jj)]:.2f}x"
                               for (n, py, jj) in variants if n == name and jj != jobs[0])
            print(f"\n{name}: speed-up over n_jobs={jobs[0]} (median wall): {ratios}")
    shas = {x["sha"] for rs in runs.values() for x in rs}
    if len(option_sets) > 1:
        python_of = {v[0]: v[1] for v in variants}
        for name in names:
            if "+" not in name:
                continue
            plain = name.split("+")[0]
            for j in jobs:
                ratio = med[(name, python_of[name], j)] / med[(plain, python_of[plain], j)]
                print(f"{name} n_jobs={j}: {ratio:.2f}x the time of {plain}")
    if len(option_sets) == 1:
        same = "yes" if len(shas) == 1 else "NO: " + ", ".join(sorted(shas))
        print(f"\noutputs byte-identical across all runs: {same}")
    else:  # different options write different tracks: each option set must agree with itself
        for vn, _ in option_sets:
            own = {x["sha"] for v, rs in runs.items() if v[0].partition("+")[2] == vn for x in rs}
            print(f"outputs of {vn or 'the plain export'} byte-identical across builds, n_jobs and repeats: "
                  f"{'yes' if len(own) == 1 else 'NO: ' + ', '.join(sorted(own))}")


if __name__ == "__main__":
    main()
