"""The atlas job (tracks per group from several sample files, benchmarks/atlas_bench.py data) with the
tools a user would pick instead of fragcov, in one run, each beside the fragcov run computing the
same quantity (per-base coverage, no normalization, no length filter):

- fragcov fragment:  export_coverage({sample: path}, table, bin_size=1, normalization=None,
                     max_frag_length=None)  -- every base a fragment covers +1
- scatac-fragment-tools (pycisTopic's): `split` (sample-aware, by the same table) then `bigwig` per
  group (raw per-base fragment coverage)                              == fragcov fragment
- macs3 pileup -f BEDPE on the split group files (bedGraph)          == fragcov fragment
- bam2bw -f -u on the split group files (both fragment ends, 1 bp)   == fragcov insertion
- SnapATAC2 2.9.0: import_fragments per sample into an .h5ad (sorted_by_barcode=False,
  min_num_fragments=0), one AnnDataSet of them (its obs "sample" + barcode = our sample#barcode),
  the table's labels, export_coverage(bin_size=1 or --snapatac2-bin-size, normalization=None,
  max_frag_length=None)                                              == fragcov fragment
  (an in-memory anndata.concat of the samples was killed at 24 GB RSS in an earlier run)

    python benchmarks/atlas_peers.py benchmarks/data/atlas-peers --peers-python .venv-peers/bin/python

Needs `pip install scatac-fragment-tools bam2bw macs3 snapatac2==2.9.0 pyBigWig pysam` in the peers'
venv (pysam makes the tabix index scatac-fragment-tools' split needs).
Prints one JSON line per tool (wall, peak RSS of its processes) and the value check of one group
(max |difference| against fragcov over chr1, per base); reports ratios to fragcov in the markdown.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def timed(cmd, **kw) -> tuple[float, float]:
    """(wall seconds, peak RSS MB of the command) via GNU time."""
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "RSS_KB=%M", *map(str, cmd)], capture_output=True, text=True, **kw)
    wall = time.perf_counter() - t0
    if r.returncode:
        raise RuntimeError(f"{cmd[0]} failed ({r.returncode}): {r.stderr[-2000:]}")
    rss = max(int(line.split("=")[1]) for line in r.stderr.splitlines() if line.startswith("RSS_KB="))
    return round(wall, 2), round(rss / 1024, 1)


FRAGCOV = """
import sys, fragcov
from pathlib import Path
f = Path(sys.argv[1]); meta = __import__("json").loads((f / "meta.json").read_text())
samples = {f"S{k + 1:02d}": f / f"S{k + 1:02d}.tsv.gz" for k in range(meta["samples"])}
fragcov.set_quiet(True)
fragcov.export_coverage(samples, f / "groups.tsv", out_dir=sys.argv[2], chrom_sizes=f / "chrom.sizes",
    normalization=None, max_frag_length=None, counting_strategy=sys.argv[3], n_jobs=2,
    bin_size=int(sys.argv[4]) if len(sys.argv) > 4 else 1)
"""

SNAP = """
import sys, json, tempfile
import pandas as pd, snapatac2 as snap
from pathlib import Path
f = Path(sys.argv[1]); meta = json.loads((f / "meta.json").read_text())
out, bin_size = Path(sys.argv[2]), int(sys.argv[3])
sizes = dict(l.split("\\t") for l in (f / "chrom.sizes").read_text().split("\\n") if l)
sizes = {k: int(v) for k, v in sizes.items()}
table = pd.read_csv(f / "groups.tsv", sep="\\t", index_col=0)["cell_type"]
out.mkdir(parents=True, exist_ok=True)
tmp = Path(tempfile.mkdtemp(dir=out.parent))
members = []
for k in range(meta["samples"]):
    s = f"S{k + 1:02d}"
    a = snap.pp.import_fragments(f / f"{s}.tsv.gz", chrom_sizes=sizes, min_num_fragments=0,
                                 sorted_by_barcode=False, file=tmp / f"{s}.h5ad")
    a.close()
    members.append((s, str(tmp / f"{s}.h5ad")))
data = snap.AnnDataSet(adatas=members, filename=str(tmp / "atlas.h5ads"))
labels = table.reindex([f"{s}#{b}" for s, b in zip(data.obs["sample"], data.obs_names)])
keep = [i for i, ok in enumerate(labels.notna()) if ok]
data.obs["cell_type"] = labels.fillna("none").to_numpy()
if len(keep) < data.n_obs:
    data = data.subset(obs_indices=keep, out=str(tmp / "subset"))[0]
snap.ex.export_coverage(data, groupby="cell_type", bin_size=bin_size, normalization=None,
                        max_frag_length=None, out_dir=str(out), n_jobs=2)
"""


def values(py: str, path: Path, chrom: str, end: int) -> str:
    """A script printing the per-base values of a bigWig or bedGraph over chrom:0-end as .npy."""
    return f"""
import numpy as np, sys
p = {str(path)!r}
v = np.zeros({end}, dtype=np.float64)
if p.endswith(('.bdg', '.bedgraph')):
    for line in open(p):
        c, s, e, x = line.split()[:4]
        if c == {chrom!r} and int(s) < {end}:
            v[int(s):min(int(e), {end})] = float(x)
else:
    import pyBigWig
    bw = pyBigWig.open(p)
    for s, e, x in (bw.intervals({chrom!r}, 0, {end}) or []):
        v[s:min(e, {end})] = x
np.save(sys.argv[1], v)
"""


def compare(py, a: Path, b: Path, tmp: Path, chrom="chr1", end=20_000_000) -> float:
    out = []
    for i, p in enumerate((a, b)):
        npy = tmp / f"v{i}.npy"
        subprocess.run([py, "-c", values(py, p, chrom, end), str(npy)], check=True)
        out.append(npy)
    import numpy as np

    x, y = np.load(out[0]), np.load(out[1])
    return float(np.abs(x - y).max()), float(x.sum())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--peers-python", default=str(HERE.parent / ".venv-peers" / "bin" / "python"))
    ap.add_argument("--group", default="CD4 Naive", help="group whose values are checked")
    ap.add_argument("--snapatac2-bin-size", type=int, default=None,
                    help="only SnapATAC2 and fragcov at this bin size (SnapATAC2 at bin 1 needs > 24 GB on hg38); "
                         "adds to peers.json")
    ap.add_argument("--no-snapatac2-bin1", action="store_true",
                    help="skip SnapATAC2 at bin 1 in the main run (it needed > 24 GB on hg38 before)")
    a = ap.parse_args(argv)
    f, py = a.folder.resolve(), a.peers_python
    if a.snapatac2_bin_size:
        b = a.snapatac2_bin_size
        work = f / "peers"
        rows = {f"fragcov fragment bin {b}": timed([sys.executable, "-c", FRAGCOV, f, work / f"fragcov-bin{b}",
                                                    "fragment", b])}
        try:
            rows[f"snapatac2 2.9.0 import + export bin {b}"] = timed([py, "-c", SNAP, f, work / f"snapatac2-bin{b}", b])
            path = next((work / f"snapatac2-bin{b}").glob(f"{a.group}*"))
            check = compare(py, path, next((work / f"fragcov-bin{b}").glob(f"{a.group}*")), work)
        except (RuntimeError, StopIteration) as err:
            rows[f"snapatac2 2.9.0 import + export bin {b}"], check = str(err)[-400:], "no output"
        report = json.loads((f / "peers.json").read_text())
        report["rows"].update(rows)
        report["checks"][f"snapatac2 2.9.0 import + export bin {b}"] = check
        print(json.dumps(report, indent=1))
        (f / "peers.json").write_text(json.dumps(report, indent=1))
        return
    bindir = Path(py).parent
    meta = json.loads((f / "meta.json").read_text())
    work = f / "peers"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    rows = {}
    for strategy in ("fragment", "insertion"):
        rows[f"fragcov {strategy}"] = timed([sys.executable, "-c", FRAGCOV, f, work / f"fragcov-{strategy}", strategy])
    # the pycisTopic route: sample-aware split by the same table, then one bigWig per group
    (work / "samples.tsv").write_text("sample\tpath_to_fragment_file\n" + "".join(
        f"S{k + 1:02d}\t{f / f'S{k + 1:02d}.tsv.gz'}\n" for k in range(meta["samples"])))
    lines = (f / "groups.tsv").read_text().splitlines()[1:]
    (work / "cell_types.tsv").write_text("sample\tcell_barcode\tcell_type\n" + "".join(
        f"{bc.split('#')[0]}\t{bc.split('#')[1]}\t{g.replace(' ', '_')}\n" for bc, g in (x.split("\t") for x in lines)))
    # scatac-fragment-tools split reads the files through their tabix index (Cell Ranger ships one; the
    # generator does not write it): made here with pysam, not timed
    subprocess.run([py, "-c", ("import pysam, sys\nfor f in sys.argv[1:]:\n    pysam.tabix_index(f, preset='bed', "
                               "force=True, keep_original=True)"), *[str(f / f"S{k + 1:02d}.tsv.gz")
                                                        for k in range(meta["samples"])]], check=True)
    split = work / "split"
    split.mkdir()
    rows["split (scatac-fragment-tools split)"] = timed(
        [bindir / "scatac_fragment_tools", "split", "-f", work / "samples.tsv", "-b", work / "cell_types.tsv",
         "-c", f / "chrom.sizes", "-o", split, "-t", work, "-n", 2, "--clear_temp"])
    groups = sorted(p for p in split.iterdir() if p.name.endswith(".fragments.tsv.gz"))
    print("split files:", [p.name for p in groups], file=sys.stderr)

    def per_group(name, make):
        wall, rss = 0.0, 0.0
        for g in groups:
            w, r = timed(make(g))
            wall, rss = wall + w, max(rss, r)
        rows[name] = (round(wall, 2), rss)

    (work / "scatac").mkdir()
    per_group("scatac-fragment-tools bigwig", lambda g: [bindir / "scatac_fragment_tools", "bigwig", "-c",
              f / "chrom.sizes", "-i", g, "-w", "pybigwig", "-o", work / "scatac" / (g.name.split(".")[0] + ".bw")])
    (work / "macs3").mkdir()
    per_group("macs3 pileup -f BEDPE", lambda g: [bindir / "macs3", "pileup", "-f", "BEDPE", "-i", g,
              "--outdir", work / "macs3", "-o", g.name.split(".")[0] + ".bdg"])
    (work / "bam2bw").mkdir()
    per_group("bam2bw -f -u", lambda g: [bindir / "bam2bw", "-f", "-u", "-s", f / "chrom.sizes", "-n",
              work / "bam2bw" / g.name.split(".")[0], g])
    if not a.no_snapatac2_bin1:
        try:
            rows["snapatac2 2.9.0 import + export"] = timed([py, "-c", SNAP, f, work / "snapatac2", 1])
        except RuntimeError as err:
            rows["snapatac2 2.9.0 import + export"] = str(err)[-400:]
    # one group's values against fragcov's
    g = a.group
    gn = g.replace(" ", "_")
    checks = {}
    fc = {s: next((work / f"fragcov-{s}").glob(f"{g}*")) for s in ("fragment", "insertion")}
    for name, path, ref in [
        ("scatac-fragment-tools bigwig", work / "scatac" / f"{gn}.bw", fc["fragment"]),
        ("macs3 pileup -f BEDPE", work / "macs3" / f"{gn}.bdg", fc["fragment"]),
        ("bam2bw -f -u", next((work / "bam2bw").glob(f"{gn}*"), None), fc["insertion"]),
        ("snapatac2 2.9.0 import + export", next((work / "snapatac2").glob(f"{g}*"), None)
         if (work / "snapatac2").exists() else None, fc["fragment"]),
    ]:
        try:
            checks[name] = compare(py, path, ref, work) if path else "no output"
        except Exception as err:  # noqa: BLE001  (report, do not hide)
            checks[name] = f"{type(err).__name__}: {err}"[:300]
    report = dict(meta=meta, rows=rows, checks=checks)
    print(json.dumps(report, indent=1))
    (f / "peers.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    main()
