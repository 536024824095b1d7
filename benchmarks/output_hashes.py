"""sha256 of exports of one dataset, to show that a change leaves the output bytes alone
(run once per build, compare ALL).

    python benchmarks/generate_fragments.py --n-fragments 3000000 --n-cells 600 --n-groups 6 \
        --seed 3 --out-dir /tmp/sha/data --formats barcode-gzip,position-bgzf
    python benchmarks/output_hashes.py /tmp/sha/data /tmp/sha/out [--matrix]

By default the default bigWig and .bedgraph.zst exports of the .h5ad; with --matrix also one
export per option that changes how tracks are computed or written (smoothing, the ceiling,
normalizations, regions, comparison tracks, fragment files as input in both sorted orders,
one and two files), each in a folder of its own.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import anndata
import pandas as pd

import fragcov


def _exports(h5ad: Path, data: Path, labels: list, groups: pd.Series):
    """(name, call) of every export of --matrix; call(out_dir) writes it."""
    sizes = data / "chrom.sizes"
    regions = [("chr1", 1_000_000, 5_000_000), ("chr2", 0, 2_000_000)]
    blacklist = ["chr1:2,000,000-2,100,000"]
    frag = data / "fragments.tsv.gz"
    frag_pos = data / "fragments.position.tsv.gz"
    group_map = dict(groups.astype(str))
    names = sorted(set(group_map.values()))

    def h5(**kw):
        return lambda out: fragcov.export_coverage(h5ad, groupby=labels, out_dir=out, **kw)

    def ff(path, **kw):
        return lambda out: fragcov.export_coverage(path, groupby=group_map, chrom_sizes=sizes, out_dir=out, **kw)

    def cmp(**kw):
        return lambda out: fragcov.compare_groups(h5ad, groupby=labels, selections=names[:2], out_dir=out, **kw)

    yield "bw-smooth", h5(smooth_base=50, bin_size=1)
    yield "bg-gz-cpm", h5(normalization="CPM", suffix=".bedgraph.gz")
    yield "bg-bpm-insertion", h5(normalization="BPM", counting_strategy="insertion", suffix=".bedgraph")
    yield "bw-rpgc-scale", h5(normalization="RPGC", effective_genome_size=2_700_000_000, scale_factor=2.5)
    yield "bw-ncells-ceiling", h5(normalization="n_cells", ceiling=2, bin_size=50)
    yield "bw-regions-blacklist", h5(regions=regions, blacklist=blacklist, exclude_for_norm=blacklist)
    yield "bw-smooth-regions", h5(smooth_base=30, regions=regions, normalization=None)
    yield "bw-fragment-file", ff(frag)
    yield "bw-fragment-file-bgzf", ff(frag_pos) if frag_pos.exists() else None
    yield "bg-fragment-file-ceiling", ff(frag, ceiling=1, suffix=".bedgraph")
    yield "bw-fragment-files-two", (lambda out: fragcov.export_coverage(
        {"a": frag, "b": frag_pos if frag_pos.exists() else frag},
        groupby={f"{s}#{b}": g for s in ("a", "b") for b, g in group_map.items()}, chrom_sizes=sizes,
        out_dir=out))
    yield "cmp-log2", cmp()
    yield "cmp-ratio-smooth", cmp(operation="ratio", smooth_base=100, bin_size=10)
    yield "cmp-difference-ref", lambda out: fragcov.compare_groups(
        h5ad, groupby=labels, selections=names[:3], reference=names[3], operation="difference", out_dir=out,
        suffix=".bedgraph")
    yield "cmp-regions", cmp(regions=regions)


def _digest(out: Path, total) -> None:
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        data_bytes = path.read_bytes()
        total.update(path.relative_to(out).as_posix().encode())
        total.update(data_bytes)
        print(path.relative_to(out).as_posix(), hashlib.sha256(data_bytes).hexdigest()[:16])


def main(data: Path, out: Path, matrix: bool = False) -> None:
    fragcov.set_quiet()
    h5ad = data / "data.h5ad"
    if not h5ad.exists():
        fragcov.import_fragments(data / "fragments.tsv.gz", data / "chrom.sizes", file=h5ad)
    groups = pd.read_csv(data / "groups.tsv", sep="\t", header=None, index_col=0)[1]
    labels = list(groups.reindex(anndata.read_h5ad(h5ad, backed="r").obs_names))
    for suffix in (".bw", ".bedgraph.zst"):
        fragcov.export_coverage(h5ad, groupby=labels, out_dir=out, suffix=suffix)
    if matrix:
        for name, call in _exports(h5ad, data, labels, groups):
            if call is not None:
                call(out / name)
    total = hashlib.sha256()
    _digest(out, total)
    print("ALL", total.hexdigest())


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), matrix="--matrix" in sys.argv[3:])
