"""Writes the demo's peaks, python/fragcov/data/demo/peaks.bed: anchors for `fragcov profile` on the
demo (the README's profile figures). Found in the demo's own fragments, as a simple peak caller would:

* insertions (both ends of every fragment line of fragments.tsv.gz, all cells) counted in 500-bp bins;
* bins with at least 20 insertions are peaks; touching ones merge;
* each peak's line is the 50-bp window (at 10-bp steps) holding most of its insertions (the first of
  equals), named peak_<n>, strand '.', in genome order.

    python scripts/make_demo_peaks.py
"""
from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "python" / "fragcov" / "data" / "demo"
BIN, MIN_INSERTIONS, SUMMIT, STEP = 500, 20, 50, 10


def main() -> None:
    order = [line.split("\t")[0] for line in (DEMO / "chrom.sizes").read_text().splitlines() if line.strip()]
    insertions: dict[str, Counter] = {c: Counter() for c in order}
    with gzip.open(DEMO / "fragments.tsv.gz", "rt") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            chrom, start, end = line.split("\t")[:3]
            insertions[chrom][int(start)] += 1
            insertions[chrom][int(end) - 1] += 1
    out = []
    for chrom in order:
        per_bin = Counter()
        for x, n in insertions[chrom].items():
            per_bin[x // BIN] += n
        peaks = []  # (first bin, end bin) of touching bins over the threshold
        for b in sorted(b for b, n in per_bin.items() if n >= MIN_INSERTIONS):
            if peaks and peaks[-1][1] == b:
                peaks[-1][1] = b + 1
            else:
                peaks.append([b, b + 1])
        for first, end in peaks:
            lo, hi = first * BIN, end * BIN
            best = max(range(lo, hi - SUMMIT + 1, STEP),
                       key=lambda s: (sum(insertions[chrom][x] for x in range(s, s + SUMMIT)), -s))
            out.append(f"{chrom}\t{best}\t{best + SUMMIT}\tpeak_{len(out) + 1}\t0\t.\n")
    (DEMO / "peaks.bed").write_text("".join(out))
    print(f"{len(out)} peaks -> {DEMO / 'peaks.bed'}")


if __name__ == "__main__":
    main()
