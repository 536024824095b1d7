"""Writes the demo's cell table python/fragcov/data/demo/barcode_to_cluster.tsv, the table the
README's examples read (`barcode<TAB>cell_type<TAB>sample<TAB>ReadsInTSS`, with that header):

* cell_type: the cell's group in groups.tsv;
* sample: donor1 / donor2 in turn, in groups.tsv's order (the demo is one synthetic sample;
  two made-up donors let the examples show split_by="sample");
* ReadsInTSS: the cell's fragments (lines of fragments.tsv.gz) that overlap 1 kb on either side
  of a transcription start site of genes.gtf (invented genes, see the folder's README.md),
  ArchR's definition, counted here.

    python scripts/make_demo_cell_table.py
"""
from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "python" / "fragcov" / "data" / "demo"
FLANK = 1000


def tss_windows() -> dict[str, list[tuple[int, int]]]:
    windows: dict[str, list[tuple[int, int]]] = {}
    for line in (DEMO / "genes.gtf").read_text().splitlines():
        f = line.split("\t")
        if line.startswith("#") or len(f) < 9 or f[2] != "transcript":
            continue
        tss = int(f[3]) - 1 if f[6] == "+" else int(f[4])  # GTF is 1-based inclusive
        windows.setdefault(f[0], []).append((max(0, tss - FLANK), tss + FLANK))
    return windows


def main() -> None:
    windows = tss_windows()
    in_tss: Counter = Counter()
    with gzip.open(DEMO / "fragments.tsv.gz", "rt") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            chrom, start, end, barcode = line.split("\t")[:4]
            s, e = int(start), int(end)
            if any(s < b and a < e for a, b in windows.get(chrom, ())):
                in_tss[barcode] += 1
    rows = [line.split("\t") for line in (DEMO / "groups.tsv").read_text().splitlines() if line.strip()]
    out = ["barcode\tcell_type\tsample\tReadsInTSS"]
    for i, (barcode, cell_type) in enumerate(rows):
        out.append(f"{barcode}\t{cell_type}\tdonor{1 + i % 2}\t{in_tss[barcode]}")
    (DEMO / "barcode_to_cluster.tsv").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
