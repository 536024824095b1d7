"""fragcov and the tools a user would pick instead, in one run, on one Cell Ranger-style fragment
file (position-sorted BGZF with `#` headers: generate_fragments.py --formats position-bgzf):

- pooled insertion track at base resolution (every cell, both Tn5 ends +1):
  fragcov `counting_strategy="insertion", bin_size=1, normalization=None, max_frag_length=None` at
  n_jobs 1 and 2, and
  figwig 0.2.0 `figwig bam2bw -f -u -p 2` (the issue's command; `-p 1` too);
- pooled fragment coverage at base resolution: fragcov `bin_size=1, normalization=None,
  max_frag_length=None`, figwig `bam2bw -f -c -u -p 2`, `macs3 pileup -f BEDPE`, scatac-fragment-tools
  `bigwig` (pycisTopic's), and (--snapatac2) SnapATAC2 2.9.0 import + export;
- 12 groups at base resolution (insertion): fragcov in one pass; the peers take one file per group:
  scatac-fragment-tools `split` by the groups table, then figwig per group.

Every peer track is compared with fragcov's at every base of every chromosome (as step functions:
the largest |difference| over the genome, bases without a value count as 0) and the report gives
wall time, peak RSS and CPU time (GNU time) and that difference. Commands run one after the other,
each in a fresh process; run the timing under `flock -x` so that nothing else runs meanwhile, and
the comparisons (minutes at 20M: every track's intervals, via pybbi) after it:

    python benchmarks/peers_bench.py DATA/frag20M ... --compare later > times.json   # under the lock
    python benchmarks/peers_bench.py DATA/frag20M ... --compare only > differences.json

    python benchmarks/peers_bench.py DATA/frag20M --peers-python PEERS/bin/python [--snapatac2] \
        [--fragcov-python OTHER/bin/python ...] > peers.json

DATA holds fragments.position.tsv.gz, groups.tsv (barcode<TAB>group) and chrom.sizes.
Peers' venv: `pip install 'figwig[bam2bw]==0.2.0' scatac-fragment-tools macs3 snapatac2==2.9.0 pysam`.
"""
from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

FRAGCOV = """
import sys, fragcov
frag, table, sizes, out, strategy, n_jobs = sys.argv[1:7]
fragcov.set_quiet(True)
fragcov.export_coverage(frag, table, chrom_sizes=sizes, out_dir=out, bin_size=1, normalization=None,
                        max_frag_length=None, counting_strategy=strategy, n_jobs=int(n_jobs), suffix=".bw")
"""

SNAP = """
import sys, snapatac2 as snap
frag, sizes, out = sys.argv[1:4]
chroms = dict((l.split()[0], int(l.split()[1])) for l in open(sizes) if l.strip())
a = snap.pp.import_fragments(frag, chrom_sizes=chroms, min_num_fragments=0, sorted_by_barcode=False,
                             file=out + ".h5ad")
a.obs["pool"] = ["all"] * a.n_obs
snap.ex.export_coverage(a, groupby="pool", bin_size=1, normalization=None, max_frag_length=None,
                        out_dir=out, n_jobs=2)
"""


def timed(cmd, **kw) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB, CPU seconds user + sys) of one command, via GNU time."""
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "RSS_KB=%M CPU=%U+%S", *map(str, cmd)], capture_output=True,
                       text=True, **kw)
    wall = time.perf_counter() - t0
    if r.returncode:
        raise RuntimeError(f"{cmd[:3]} failed ({r.returncode}): {r.stderr[-1500:]}")
    line = [x for x in r.stderr.splitlines() if x.startswith("RSS_KB=")][-1]
    rss, cpu = line.split()
    return round(wall, 2), round(int(rss.split("=")[1]) / 1024, 1), round(eval(cpu.split("=")[1]), 2)


def records(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """{chrom: (starts, ends, values)} of a bigWig (pybbi) or bedGraph (.bdg)."""
    import pandas as pd

    if path.suffix == ".bdg":
        with open(path) as fh:
            track_line = fh.readline().startswith("track")
        t = pd.read_csv(path, sep="\t", header=None, usecols=[0, 1, 2, 3], skiprows=int(track_line),
                        dtype={0: str, 1: np.int64, 2: np.int64, 3: np.float64})
        return {c: (g[1].to_numpy(), g[2].to_numpy(), g[3].to_numpy()) for c, g in t.groupby(0)}
    import bbi

    out = {}
    with bbi.open(str(path)) as f:
        for c in f.chromsizes:
            t = f.fetch_intervals(c, 0, -1, iterator=False)
            if len(t):
                out[c] = (t["start"].to_numpy(np.int64), t["end"].to_numpy(np.int64), t["value"].to_numpy(np.float64))
    return out


def max_difference(a: dict, b: dict) -> float:
    """Largest |a - b| over every base of every chromosome (as step functions; no value = 0)."""
    worst = 0.0
    for c in set(a) | set(b):
        cuts = np.unique(np.concatenate([x for r in (a.get(c), b.get(c)) if r for x in (r[0], r[1])]))
        if len(cuts) < 2:
            continue
        left = cuts[:-1]

        def value(r, left=left):  # called in this iteration only
            if not r:
                return np.zeros(len(left))
            s, e, v = r
            k = np.searchsorted(s, left, side="right") - 1
            inside = (k >= 0) & (left < e[np.maximum(k, 0)])
            return np.where(inside, v[np.maximum(k, 0)], 0.0)

        worst = max(worst, float(np.abs(value(a.get(c)) - value(b.get(c))).max()))
    return worst


def compare(pairs: list) -> dict:
    """{check: largest difference} over the (check, fragcov track, peer track) triples."""
    checks: dict[str, float] = {}
    for name, ours, theirs in pairs:
        checks[name] = max(checks.get(name, 0.0), max_difference(records(Path(ours)), records(Path(theirs))))
    return checks


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path)
    ap.add_argument("--peers-python", required=True)
    ap.add_argument("--figwig", default=None, help="the figwig command (default: beside --peers-python)")
    ap.add_argument("--work", type=Path, default=None, help="output folder (default DATA/peers)")
    ap.add_argument("--snapatac2", action="store_true", help="also SnapATAC2 2.9.0 import + export at bin 1")
    ap.add_argument("--fragcov-python", action="append", default=[],
                    help="NAME=PYTHON: another fragcov build for the pooled insertion rows (e.g. base=...)")
    ap.add_argument("--skip", default="", help="comma-separated row groups to skip: coverage,groups")
    ap.add_argument("--compare", choices=("now", "later", "only"), default="now",
                    help="later: time only, and write the pairs of tracks to compare to WORK/compare.json; "
                         "only: compare those (e.g. outside the exclusive lock) and print them")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of each pooled insertion row, interleaved (fragcov n_jobs 1, 2, figwig -p 2, -p 1); "
                         "the report gives every run and the median")
    a = ap.parse_args(argv)
    d = a.data.resolve()
    frag, table, sizes = d / "fragments.position.tsv.gz", d / "groups.tsv", d / "chrom.sizes"
    work = (a.work or d / "peers").resolve()
    if a.compare == "only":
        print(json.dumps(dict(max_abs_difference=compare(json.loads((work / "compare.json").read_text()))),
                         indent=1))
        return
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    bindir = Path(a.peers_python).parent
    figwig_bin = Path(a.figwig).resolve() if a.figwig else bindir / "figwig"
    skip = set(a.skip.split(","))
    barcodes = [line.split("\t")[0] for line in table.read_text().splitlines() if line.strip()]
    pooled = work / "pooled.tsv"
    pooled.write_text("".join(f"{b}\tall\n" for b in barcodes))
    rows, pairs = {}, []

    def fragcov(name, strategy, n_jobs, tab=pooled, py=sys.executable):
        out = work / name
        shutil.rmtree(out, ignore_errors=True)
        rows[name] = timed([py, "-c", FRAGCOV, frag, tab, sizes, out, strategy, n_jobs])
        return out

    def figwig(name, src, *flags):
        out = work / name
        out.mkdir()
        rows[name] = timed([figwig_bin, "bam2bw", *flags, "-s", sizes, "-n", out / "track", src])
        return next(out.glob("*.bw"))

    # figwig compiles its numba kernels on its first call and caches them: not part of any timed run
    tiny = work / "tiny.tsv"
    with gzip.open(frag, "rt") as fh:
        tiny.write_text("".join(line for _, line in zip(range(20000), fh) if not line.startswith("#")))
    for flags in (("-f", "-u"), ("-c", "-u")):
        for p in ("1", "2"):
            subprocess.run([figwig_bin, "bam2bw", *flags, "-p", p, "-s", sizes, "-n", work / "tiny", tiny],
                           check=True, capture_output=True)
    runs: dict[str, list] = {}
    for _ in range(a.repeat):  # interleaved, so that any disturbance falls on every row alike
        ref_ins = fragcov("fragcov insertion n_jobs 1", "insertion", 1)
        fragcov("fragcov insertion n_jobs 2", "insertion", 2)
        for spec in a.fragcov_python:
            name, py = spec.split("=", 1)
            fragcov(f"fragcov[{name}] insertion n_jobs 1", "insertion", 1, py=py)
            fragcov(f"fragcov[{name}] insertion n_jobs 2", "insertion", 2, py=py)
        for p in (2, 1):
            shutil.rmtree(work / f"figwig bam2bw -f -u -p {p}", ignore_errors=True)
            got = figwig(f"figwig bam2bw -f -u -p {p}", frag, "-f", "-u", "-p", str(p))
        for name in list(rows):
            runs.setdefault(name, []).append(rows[name])
    if a.repeat > 1:  # the median run of each row (by wall), and every run
        for name, rs in runs.items():
            rows[name] = sorted(rs)[(len(rs) - 1) // 2]
            rows[name + " (every run)"] = rs
    for p in (2, 1):
        got = next((work / f"figwig bam2bw -f -u -p {p}").glob("*.bw"))
        pairs.append((f"figwig bam2bw -f -u -p {p}", ref_ins / "all.bw", got))
    if "coverage" not in skip:
        ref_cov = fragcov("fragcov coverage n_jobs 2", "fragment", 2) / "all.bw"
        got = figwig("figwig bam2bw -c -u -p 2", frag, "-c", "-u", "-p", "2")
        pairs.append(("figwig bam2bw -c -u -p 2", ref_cov, got))
        (work / "macs3").mkdir()
        rows["macs3 pileup -f BEDPE"] = timed([bindir / "macs3", "pileup", "-f", "BEDPE", "-i", frag, "--outdir",
                                               work / "macs3", "-o", "all.bdg"])
        pairs.append(("macs3 pileup -f BEDPE", ref_cov, work / "macs3" / "all.bdg"))
        rows["scatac-fragment-tools bigwig"] = timed([bindir / "scatac_fragment_tools", "bigwig", "-c", sizes, "-i",
                                                      frag, "-w", "pybigwig", "-o", work / "scatac.bw"])
        pairs.append(("scatac-fragment-tools bigwig", ref_cov, work / "scatac.bw"))
        if a.snapatac2:
            try:
                rows["snapatac2 2.9.0 import + export"] = timed([a.peers_python, "-c", SNAP, frag, sizes,
                                                                 work / "snapatac2"])
                pairs.append(("snapatac2 2.9.0 import + export", ref_cov, next((work / "snapatac2").glob("*.bw"))))
            except RuntimeError as err:
                rows["snapatac2 2.9.0 import + export"] = str(err)[-300:]
    if "groups" not in skip:
        groups_out = fragcov("fragcov 12 groups insertion n_jobs 2", "insertion", 2, tab=table)
        # the peers' route: split by group (scatac-fragment-tools, sample-aware), then one run per group
        (work / "samples.tsv").write_text(f"sample\tpath_to_fragment_file\nS\t{frag}\n")
        (work / "cell_types.tsv").write_text("sample\tcell_barcode\tcell_type\n" + "".join(
            f"S\t{b}\t{g.replace(' ', '_')}\n" for b, g in (x.split("\t") for x in table.read_text().splitlines()
                                                            if x.strip())))
        subprocess.run([a.peers_python, "-c", ("import pysam, sys\npysam.tabix_index(sys.argv[1], preset='bed', "
                                               "force=True, keep_original=True)"), str(frag)],
                       check=True)  # split reads the index; untimed
        split = work / "split"
        split.mkdir()
        rows["scatac-fragment-tools split (12 groups)"] = timed(
            [bindir / "scatac_fragment_tools", "split", "-f", work / "samples.tsv", "-b", work / "cell_types.tsv",
             "-c", sizes, "-o", split, "-t", work, "-n", 2, "--clear_temp"])
        wall, rss, cpu = 0.0, 0.0, 0.0
        for g in sorted(split.glob("*.fragments.tsv.gz")):
            name = g.name.split(".")[0]
            got = figwig(f"figwig {name}", g, "-f", "-u", "-p", "2")
            w, r, c = rows.pop(f"figwig {name}")
            wall, rss, cpu = wall + w, max(rss, r), cpu + c
            ours = next(p for p in groups_out.iterdir() if p.name.replace(" ", "_").startswith(name + "."))
            pairs.append(("figwig bam2bw -f -u -p 2, one run per group", ours, got))
        rows["figwig bam2bw -f -u -p 2, one run per group"] = (round(wall, 2), rss, round(cpu, 2))
    pairs = [(name, str(ours), str(theirs)) for name, ours, theirs in pairs]
    if a.compare == "later":
        (work / "compare.json").write_text(json.dumps(pairs))
        print(json.dumps(dict(rows=rows), indent=1))
    else:
        print(json.dumps(dict(rows=rows, max_abs_difference=compare(pairs)), indent=1))


if __name__ == "__main__":
    main()
