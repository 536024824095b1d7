"""Makes tests/data/edges: synthetic fragments at chromosome ends and region edges,
and SnapATAC2 2.9.0's tracks for them (see tests/data/README.md, section edges/).

    python tests/data/edges/make_data.py      # needs snapatac2==2.9.0; ~1 minute

Writes, next to this script: fragments.tsv.gz (10x layout, sorted by barcode),
groups.tsv, chrom.sizes, blacklist.bed, include_for_norm.bed and
snapatac2_2.9.0/<config>/<group>.bedgraph.gz with snapatac2_2.9.0/CONFIGS.txt.
Everything is seeded, so a rerun gives the same inputs and tracks.

What the data holds:
* chromosome lengths that are not multiples of the bin sizes used (chrA 10,007,
  chrB 5,003; chrC 2,000 is one), with fragments that end exactly at the
  chromosome end and fragments that run up to 39 bp past it;
* for every blacklist, include_for_norm and exclude_for_norm region [s, e),
  fragments that touch it from outside ([s-40, s), [e, e+40): no overlap, half-open),
  overlap it by one base ([s-40, s+1), [e-1, e+40)), and start or end exactly on its
  edges ([s, s+30), [e-30, e)); in insertion mode these put insertions at s-1, s,
  e-1 and e;
* a random background on every chromosome.
"""
from __future__ import annotations

import gzip
import shutil
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CHROM_SIZES = {"chrA": 10_007, "chrB": 5_003, "chrC": 2_000}  # name order, as SnapATAC2 stores them
CELLS = [f"cell{i:02d}" for i in range(8)]
GROUP_OF = {c: ("g1" if i < 4 else "g2") for i, c in enumerate(CELLS)}
BLACKLIST = [("chrA", 1000, 1100), ("chrA", 3000, 3001), ("chrB", 200, 260)]
INCLUDE = [("chrA", 0, 5000), ("chrB", 100, 2500), ("chrC", 500, 1500)]
EXCLUDE = ["chrA:2000-2100", "chrB:1200-1201"]

REGIONS = dict(blacklist="blacklist.bed", include_for_norm="include_for_norm.bed",
               exclude_for_norm=EXCLUDE)
# config name -> export_coverage options (besides groupby, suffix); the test-side
# list is FIXTURE_CASES / PARTIAL_BIN_CASES in tests/helpers.py
CONFIGS = {
    "partial_bin10_raw": dict(bin_size=10, normalization=None),
    "partial_bin7_smooth5_raw": dict(bin_size=7, normalization=None, smooth_base=5),
    "partial_bin7_insertion_raw": dict(bin_size=7, normalization=None, counting_strategy="insertion"),
    "partial_bin10_bpm": dict(bin_size=10, normalization="BPM"),
    "regions_bin1_raw": dict(bin_size=1, normalization=None, blacklist="blacklist.bed"),
    "regions_bin1_insertion_raw": dict(bin_size=1, normalization=None, counting_strategy="insertion",
                                       blacklist="blacklist.bed"),
    "regions_bin1_cpm_insertion": dict(bin_size=1, normalization="CPM", counting_strategy="insertion",
                                       **REGIONS),
    "regions_bin5_rpkm": dict(bin_size=5, normalization="RPKM", **REGIONS),
}


def parse(region: str) -> tuple[str, int, int]:
    c, rest = region.split(":")
    s, e = rest.split("-")
    return c, int(s), int(e)


def fragments(seed=2024) -> list[tuple[str, int, int, str, int]]:
    rng = np.random.default_rng(seed)
    out = set()

    def add(chrom, start, end, k):
        """[start, end) for k distinct random cells (one line per cell)."""
        start = max(start, 0)
        if end <= start:
            return
        for cell in rng.choice(CELLS, size=k, replace=False):
            out.add((chrom, int(start), int(end), str(cell)))

    edges = BLACKLIST + INCLUDE + [parse(r) for r in EXCLUDE]
    for c, s, e in edges:
        for fs, fe in [(s - 40, s), (s - 40, s + 1), (e, e + 40), (e - 1, e + 40),
                       (s, s + 30), (e - 30, e)]:
            add(c, fs, fe, int(rng.integers(1, 7)))
    for c, L in CHROM_SIZES.items():
        for _ in range(400):  # background
            s = int(rng.integers(0, L - 1))
            add(c, s, s + int(rng.integers(20, 500)), 1)
        for _ in range(40):  # at the chromosome end, some past it
            s = L - int(rng.integers(1, 26))
            add(c, s, s + int(rng.integers(1, 41)), int(rng.integers(1, 3)))
        add(c, L - 50, L, 3)  # ends exactly at the end
    # column 5 (duplicate count) is not used by either tool
    return sorted((c, s, e, b, 1 + (s % 3)) for c, s, e, b in out)


def write_inputs() -> None:
    frags = sorted(fragments(), key=lambda f: (f[3], f[0], f[1], f[2]))
    text = "".join(f"{c}\t{s}\t{e}\t{b}\t{n}\n" for c, s, e, b, n in frags)
    with open(HERE / "fragments.tsv.gz", "wb") as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as fh:
        fh.write(text.encode())
    (HERE / "groups.tsv").write_text("".join(f"{c}\t{g}\n" for c, g in GROUP_OF.items()))
    (HERE / "chrom.sizes").write_text("".join(f"{c}\t{L}\n" for c, L in CHROM_SIZES.items()))
    (HERE / "blacklist.bed").write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in BLACKLIST))
    (HERE / "include_for_norm.bed").write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in INCLUDE))
    print(f"{len(frags)} fragments")


def run_snapatac2() -> None:
    import snapatac2 as snap

    assert snap.__version__ == "2.9.0", f"needs snapatac2 2.9.0, found {snap.__version__}"
    out_root = HERE / "snapatac2_2.9.0"
    shutil.rmtree(out_root, ignore_errors=True)
    out_root.mkdir()
    calls = []
    with tempfile.TemporaryDirectory() as tmp:
        adata = snap.pp.import_fragments(HERE / "fragments.tsv.gz", CHROM_SIZES, file=Path(tmp) / "edges.h5ad",
                                         min_num_fragments=0, n_jobs=2)
        adata.obs["cell_type"] = [GROUP_OF[b] for b in adata.obs_names]
        for name, opts in CONFIGS.items():
            kw = {k: (str(HERE / v) if k in ("blacklist", "include_for_norm") else v) for k, v in opts.items()}
            snap.ex.export_coverage(adata, groupby="cell_type", suffix=".bedgraph.gz", n_jobs=2,
                                    out_dir=str(out_root / name), **kw)
            shown = ", ".join(f"{k}={v!r}" for k, v in opts.items())
            calls.append(f"{name}: export_coverage(adata, groupby='cell_type', suffix='.bedgraph.gz', {shown})\n")
        adata.close()
    (out_root / "CONFIGS.txt").write_text("".join(calls))


if __name__ == "__main__":
    write_inputs()
    run_snapatac2()
