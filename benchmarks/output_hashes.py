"""sha256 of the default bigWig and .bedgraph.zst exports of one dataset, to show
that a change leaves the output bytes alone (run once per build, compare ALL).

    python benchmarks/generate_fragments.py --n-fragments 3000000 --n-cells 600 --n-groups 6 \
        --seed 3 --out-dir /tmp/sha/data
    python benchmarks/output_hashes.py /tmp/sha/data /tmp/sha/out
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import anndata
import pandas as pd

import fragcov


def main(data: Path, out: Path) -> None:
    fragcov.set_quiet()
    h5ad = data / "data.h5ad"
    if not h5ad.exists():
        fragcov.import_fragments(data / "fragments.tsv.gz", data / "chrom.sizes", file=h5ad)
    groups = pd.read_csv(data / "groups.tsv", sep="\t", header=None, index_col=0)[1]
    labels = list(groups.reindex(anndata.read_h5ad(h5ad, backed="r").obs_names))
    for suffix in (".bw", ".bedgraph.zst"):
        fragcov.export_coverage(h5ad, groupby=labels, out_dir=out, suffix=suffix)
    total = hashlib.sha256()
    for path in sorted(out.iterdir()):
        data_bytes = path.read_bytes()
        total.update(path.name.encode())
        total.update(data_bytes)
        print(path.name, hashlib.sha256(data_bytes).hexdigest()[:16])
    print("ALL", total.hexdigest())


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
