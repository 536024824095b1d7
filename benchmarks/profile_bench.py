"""Profiles around anchors (docs/spec.md section 16; issue 30's benchmark): 12 groups x 100k anchors from a
45M-fragment file, fragcov.profile against the route users take today, in one run:

(a) fragcov export_coverage (bin 1, CPM, insertions: per-base values) to 12 bigWigs, then deepTools
    `computeMatrix reference-point --referencePoint TSS -a 2000 -b 2000 --binSize 10 --missingDataAsZero`
    on them: the same quantity (the mean over a bin's 10 bases of the per-base CPM coverage, spec 16.4),
    written as the same kind of file;
(b) a short pyBigWig + numpy script on the same bigWigs (the "~100x faster" script of deepTools #1384):
    `bw.values()` per anchor and group, NaN -> 0, means of 10 bases, reversed on '-'.

Steps, each its own command so that each timed step can take a lock of its own (--lock FILE: every timed
command runs under `flock -x FILE`, and its wall time is GNU time's, inside the lock; --shared-lock FILE:
under `flock -s FILE nice -n 10`, beside other work, for steps too long for an exclusive hold: then their
CPU seconds are the measure, as wall time is disturbed):

    python benchmarks/profile_bench.py data DIR           # 45M fragments (position BGZF), 100k anchors
    python benchmarks/profile_bench.py fragcov DIR        # profile + to_deeptools
    python benchmarks/profile_bench.py export DIR         # route (a), step 1: the 12 bigWigs
    python benchmarks/profile_bench.py computematrix DIR --chunks 20   # route (a), step 2, 5k anchors a run
                                                 [--runs K]      # only the first K runs, times scaled
    python benchmarks/profile_bench.py pybigwig DIR       # route (b)
    python benchmarks/profile_bench.py report DIR         # values compared, ratios, markdown

computeMatrix's time grows with the anchors (one region after the other), so it runs on chunks of the
anchors, each a run of its own, and the chunks' times are summed. Results accumulate in DIR/results.json.
Needs deeptools and pyBigWig (`pip install deeptools`).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WINDOW, BIN = 2000, 10


def timed(cmd, lock=None, shared=None) -> dict:
    """Wall and CPU seconds (its processes and their children) and peak RSS (MB) of `cmd`, from GNU time run
    inside the lock."""
    full = ["/usr/bin/time", "-f", "TIME wall=%e user=%U sys=%S rss=%M", *map(str, cmd)]
    if lock:
        full = ["flock", "-x", str(lock), *full]
    elif shared:
        full = ["flock", "-s", str(shared), "nice", "-n", "10", *full]
    r = subprocess.run(full, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"{cmd[:3]} failed ({r.returncode}): {r.stderr[-3000:]}")
    line = [x for x in r.stderr.splitlines() if x.startswith("TIME ")][-1]
    f = dict(kv.split("=") for kv in line.split()[1:])
    return {"wall_s": float(f["wall"]), "cpu_s": round(float(f["user"]) + float(f["sys"]), 2),
            "rss_mb": round(int(f["rss"]) / 1024, 1), "stdout": r.stdout.strip()[-2000:]}


def save(d: Path, key: str, value) -> None:
    path = d / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results[key] = value
    path.write_text(json.dumps(results, indent=1))
    print(key, json.dumps(value)[:400])


def groups_of(d: Path) -> list[str]:
    """fragcov's group order for a groups table: names sorted as strings (spec 5.4)."""
    return sorted({line.split("\t")[1].rstrip("\n") for line in open(d / "groups.tsv") if line.strip()})


def cmd_data(a):
    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    if not ((d / "fragments.position.tsv.gz").exists() and (d / "peaks.bed").exists()):  # made once
        subprocess.run([sys.executable, HERE / "generate_fragments.py", "--n-fragments", str(a.fragments),
                        "--n-cells", "4000", "--n-groups", "12", "--seed", "1", "--out-dir", d,
                        "--formats", "position-bgzf", "--peaks-bed", d / "peaks.bed", "--quiet"], check=True)
    # 100k distinct anchors: the 40k shared peaks' summits, then 5,001 of each group's
    seen, rows, per_set = set(), [], {}
    for line in open(d / "peaks.bed"):
        chrom, start, _, name, _, strand = line.rstrip("\n").split("\t")
        label = name.rsplit("_", 1)[0]
        if (label != "shared" and per_set.get(label, 0) >= 5001) or (chrom, start) in seen:
            continue
        per_set[label] = per_set.get(label, 0) + 1
        seen.add((chrom, start))
        rows.append(line)
    (d / "anchors.bed").write_text("".join(rows[:a.anchors]))
    print(f"{min(len(rows), a.anchors)} anchors in {d / 'anchors.bed'}")


FRAGCOV = """
import sys, time, fragcov
d = sys.argv[1]
fragcov.set_quiet(True)
t = time.perf_counter()
r = fragcov.profile(d + "/fragments.position.tsv.gz", d + "/groups.tsv", d + "/anchors.bed",
                    chrom_sizes=d + "/chrom.sizes", reference_point="start", upstream=2000, downstream=2000,
                    bin_size=10, normalization="CPM", counting_strategy="insertion", n_jobs=2)
t1 = time.perf_counter()
r.to_deeptools(d + "/out/fragcov.mat.gz", n_jobs=2)
print(f"profile_s={t1 - t:.2f} matrix_file_s={time.perf_counter() - t1:.2f}")
"""

EXPORT = """
import sys, fragcov
d = sys.argv[1]
fragcov.set_quiet(True)
fragcov.export_coverage(d + "/fragments.position.tsv.gz", d + "/groups.tsv", chrom_sizes=d + "/chrom.sizes",
                        bin_size=1, normalization="CPM", counting_strategy="insertion", out_dir=d + "/out/bw",
                        n_jobs=2)
"""

PYBIGWIG = """
import sys, numpy as np, pyBigWig
d, groups = sys.argv[1], sys.argv[2].split("|")
W, B = 2000, 10
anchors = [l.split("\\t") for l in open(d + "/anchors.bed")]
out = np.empty((len(groups), len(anchors), 2 * W // B), dtype=np.float32)
for g, name in enumerate(groups):
    bw = pyBigWig.open(f"{d}/out/bw/{name}.bw")
    sizes = bw.chroms()
    for i, (chrom, start, end, _, _, strand) in enumerate(anchors):
        minus = strand.strip() == "-"
        a = int(end) - 1 if minus else int(start)
        lo = a - W + 1 if minus else a - W
        hi, L = lo + 2 * W, sizes[chrom]
        v = np.full(2 * W, np.nan)
        s, e = max(lo, 0), min(hi, L)
        if s < e:
            v[s - lo:e - lo] = np.nan_to_num(bw.values(chrom, s, e, numpy=True))
        m = v.reshape(-1, B).mean(axis=1)
        out[g, i] = m[::-1] if minus else m
    bw.close()
np.save(d + "/out/pybigwig.npy", out)
"""


def cmd_fragcov(a):
    d = Path(a.dir)
    (d / "out").mkdir(exist_ok=True)
    save(d, "fragcov", timed([sys.executable, "-c", FRAGCOV, d], a.lock, a.shared_lock))


def cmd_export(a):
    d = Path(a.dir)
    shutil.rmtree(d / "out" / "bw", ignore_errors=True)
    (d / "out").mkdir(exist_ok=True)
    save(d, "export_bin1", timed([sys.executable, "-c", EXPORT, d], a.lock, a.shared_lock))


def cmd_computematrix(a):
    d = Path(a.dir)
    lines = open(d / "anchors.bed").readlines()
    groups = groups_of(d)
    bws = [d / "out" / "bw" / f"{g}.bw" for g in groups]
    size = -(-len(lines) // a.chunks)
    runs = []
    for k in range(a.runs or a.chunks):
        chunk = d / "out" / f"anchors.{k}.bed"
        chunk.write_text("".join(lines[k * size:(k + 1) * size]))
        exe = shutil.which("computeMatrix") or str(Path(sys.executable).parent / "computeMatrix")
        r = timed([exe, "reference-point", "-S", *bws, "--samplesLabel", *groups, "-R", chunk,
                   "--referencePoint", "TSS", "-a", WINDOW, "-b", WINDOW, "--binSize", BIN, "--missingDataAsZero",
                   "-p", 2, "-o", d / "out" / f"deeptools.{k}.mat.gz"], a.lock, a.shared_lock)
        runs.append(r)
        print(f"chunk {k}: {r['wall_s']} s", flush=True)
    # with --runs, only the first chunks run; their time is scaled by the anchors (computeMatrix takes the
    # regions one after the other, so its time is linear in them: see per_chunk_s)
    done = min(len(lines), len(runs) * size)
    scale = len(lines) / done
    save(d, "computematrix", {"chunks": len(runs), "of_chunks": a.chunks, "anchors_run": done,
                              "anchors": len(lines), "shared": bool(a.shared_lock),
                              "wall_s": round(scale * sum(r["wall_s"] for r in runs), 2),
                              "cpu_s": round(scale * sum(r["cpu_s"] for r in runs), 2),
                              "measured_wall_s": round(sum(r["wall_s"] for r in runs), 2),
                              "measured_cpu_s": round(sum(r["cpu_s"] for r in runs), 2),
                              "rss_mb": max(r["rss_mb"] for r in runs), "per_chunk_s": [r["wall_s"] for r in runs]})


def cmd_pybigwig(a):
    d = Path(a.dir)
    save(d, "pybigwig", timed([sys.executable, "-c", PYBIGWIG, d, "|".join(groups_of(d))], a.lock, a.shared_lock))


def read_matrix(path) -> tuple[list, np.ndarray]:
    keys, rows = [], []
    with gzip.open(path, "rt") as fh:
        next(fh)
        for line in fh:
            f = line.rstrip("\n").split("\t")
            keys.append((f[0], int(f[1]), f[5]))
            rows.append(np.array(f[6:], dtype=np.float64))
    return keys, np.vstack(rows)


def cmd_report(a):
    d = Path(a.dir)
    res = json.loads((d / "results.json").read_text())
    groups = groups_of(d)
    keys, ours = read_matrix(d / "out" / "fragcov.mat.gz")
    ours32 = ours.astype(np.float32)
    nan = np.isnan(ours32)
    # deepTools: chunk files in order; its values are printed with 6 decimals ('%f')
    dt_keys, dt = [], []
    for k in range(res["computematrix"]["chunks"]):
        kk, m = read_matrix(d / "out" / f"deeptools.{k}.mat.gz")
        dt_keys += kk
        dt.append(m)
    dt = np.vstack(dt)
    n = len(dt_keys)  # every anchor, or the first chunks' (--runs)
    assert dt_keys == keys[:n], "deepTools' rows are not the anchors in order"
    diff_dt = np.abs(dt[~nan[:n]] - ours32[:n][~nan[:n]].astype(np.float64))
    pbw = np.load(d / "out" / "pybigwig.npy")  # groups x anchors x bins
    pbw = np.concatenate(list(pbw), axis=1)
    diff_pbw = np.abs(pbw[~nan].astype(np.float64) - ours32[~nan].astype(np.float64))
    nan_pbw = np.isnan(pbw)
    check = {
        "bins_compared": int((~nan).sum()), "bins_nan_in_fragcov": int(nan.sum()),
        "deeptools_max_abs_diff": float(diff_dt.max()), "deeptools_zero_where_fragcov_nan":
            bool(np.all(dt[nan[:n]] == 0)), "deeptools_rows_compared": n,
        "pybigwig_max_abs_diff": float(diff_pbw.max()), "pybigwig_nan_same": bool(np.array_equal(nan_pbw, nan)),
        "max_value": float(np.nanmax(ours32)), "groups": groups,
    }
    save(d, "check", check)
    f = res["fragcov"]
    cm = res["computematrix"]
    cm_runs = f"{cm['chunks']} runs"
    if cm.get("anchors_run", cm.get("anchors")) != cm.get("anchors"):
        cm_runs = (f"{cm['chunks']} of {cm['of_chunks']} runs ({cm['anchors_run']:,} anchors: "
                   f"{cm['measured_wall_s']} s wall, {cm['measured_cpu_s']} s CPU), "
                   f"scaled to {cm['anchors']:,} anchors")
    route_a = res["export_bin1"]["wall_s"] + res["computematrix"]["wall_s"]
    print(f"""
| run | wall s | CPU s | peak RSS MB |
|---|---|---|---|
| fragcov.profile + to_deeptools | {f['wall_s']} | {f['cpu_s']} | {f['rss_mb']} |
| (a) fragcov export_coverage bin 1 (12 bigWigs) | {res['export_bin1']['wall_s']} | {res['export_bin1']['cpu_s']} | \
{res['export_bin1']['rss_mb']} |
| (a) computeMatrix reference-point, {cm_runs} | {res['computematrix']['wall_s']} | \
{res['computematrix']['cpu_s']} | {res['computematrix']['rss_mb']} |
| (a) in all | {route_a:.2f} | | |
| (b) pyBigWig + numpy on the 12 bigWigs | {res['pybigwig']['wall_s']} | {res['pybigwig']['cpu_s']} | \
{res['pybigwig']['rss_mb']} |

fragcov ({f['stdout']}) vs (a): **{route_a / f['wall_s']:.1f}x** faster; vs (a)'s computeMatrix alone:
{res['computematrix']['wall_s'] / f['wall_s']:.1f}x; vs (b) with its bigWigs: \
{(res['export_bin1']['wall_s'] + res['pybigwig']['wall_s']) / f['wall_s']:.1f}x.
Values: {check['bins_compared']:,} bins compared; max |fragcov - deepTools| = {check['deeptools_max_abs_diff']:.3g}
over the {check['deeptools_rows_compared']:,} anchors deepTools ran on
(deepTools prints 6 decimals); max |fragcov - pyBigWig script| = {check['pybigwig_max_abs_diff']:.3g}; largest value
{check['max_value']:.4g}; {check['bins_nan_in_fragcov']:,} bins past a chromosome end are NaN in fragcov (deepTools with
--missingDataAsZero: 0, all of them: {check['deeptools_zero_where_fragcov_nan']}).
""")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="step", required=True)
    for name, func in (("data", cmd_data), ("fragcov", cmd_fragcov), ("export", cmd_export),
                       ("computematrix", cmd_computematrix), ("pybigwig", cmd_pybigwig), ("report", cmd_report)):
        p = sub.add_parser(name)
        p.add_argument("dir")
        p.add_argument("--lock", help="run each timed command under flock -x on this file")
        p.add_argument("--shared-lock", help="run each timed command under flock -s on this file, niced (CPU "
                                             "seconds are then the measure)")
        p.set_defaults(func=func)
        if name == "data":
            p.add_argument("--fragments", type=int, default=45_000_000)
            p.add_argument("--anchors", type=int, default=100_000)
        if name == "computematrix":
            p.add_argument("--chunks", type=int, default=20)
            p.add_argument("--runs", type=int, default=0, help="run only the first RUNS chunks and scale their "
                                                                "times to all anchors (default: every chunk)")
    a = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    a.func(a)


if __name__ == "__main__":
    main()
