"""Regenerate the expected outputs in this folder with SnapATAC2 2.9.0.

Run from this folder:  python make_expected.py /path/to/fixtures
(needs snapatac2==2.9.0; the tests themselves never need it).
"""
import gzip
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import snapatac2 as snap

HERE = Path(__file__).resolve().parent


def make_inputs(fixtures: Path):
    # pbmc_sub: 24 cells of fixtures/pbmc_mini/fragments.tsv.gz (incl. the 3 cells with chrM
    # fragments), with a 10x-style comment header; sorted by barcode as the source.
    df = pd.read_csv(fixtures / "pbmc_mini/fragments.tsv.gz", sep="\t", header=None, dtype={3: str})
    bcs = list(dict.fromkeys(df[3]))
    mito_bcs = list(dict.fromkeys(df.loc[df[0] == "chrM", 3]))[:3]
    chosen = set(bcs[:21]) | set(mito_bcs)
    sub = df[df[3].isin(chosen)]
    header = "# id=pbmc_sub\n# description=subset of fragcov fixture pbmc_mini\n"
    text = header + sub.to_csv(sep="\t", header=False, index=False)
    with gzip.open(HERE / "pbmc_sub.tsv.gz", "wt") as fh:
        fh.write(text)
    # the same lines in a random order (for sorted_by_barcode=False)
    shuf = sub.sample(frac=1.0, random_state=7)
    with gzip.open(HERE / "pbmc_sub_shuffled.tsv.gz", "wt") as fh:
        fh.write(shuf.to_csv(sep="\t", header=False, index=False))
    (HERE / "pbmc_sub.chrom.sizes").write_text(
        (fixtures / "pbmc_mini/chrom.sizes").read_text())
    wl = [b for b in bcs[:21] if b not in mito_bcs][::2] + mito_bcs[:1] + ["NOT-A-BARCODE-1"]
    (HERE / "whitelist.txt").write_text("\n".join(wl) + "\n")
    # single_end: fixtures/single_end/fragments_single.tsv.gz, first 4000 reads
    se = pd.read_csv(fixtures / "single_end/fragments_single.tsv.gz", sep="\t", header=None,
                     dtype={3: str})
    with gzip.open(HERE / "single_end.tsv.gz", "wt") as fh:
        fh.write(se.iloc[:4000].to_csv(sep="\t", header=False, index=False))


def save(name, adata):
    key = "fragment_paired" if "fragment_paired" in adata.obsm else "fragment_single"
    m = adata.obsm[key]
    ref = adata.uns["reference_sequences"]
    np.savez_compressed(
        HERE / f"expected_{name}.npz",
        key=np.array(key), shape=np.array(m.shape, dtype=np.int64),
        indptr=m.indptr, indices=m.indices, data=m.data,
        obs_names=np.array(list(adata.obs_names), dtype=str),
        n_fragment=adata.obs["n_fragment"].to_numpy(),
        frac_dup=adata.obs["frac_dup"].to_numpy(),
        frac_mito=adata.obs["frac_mito"].to_numpy(),
        ref_names=np.array(list(ref["reference_seq_name"]), dtype=str),
        ref_lengths=ref["reference_seq_length"].to_numpy(),
    )


EDGE = (
    "#comment line\n"
    "chr2\t100\t150\tB\t2\n"
    "chr1\t50\t60\tB\t1\n"
    "chr1\t50\t55\tB\t3\n"
    "chr1\t50\t52\tB\t.\n"
    "chr1\t50\t55\tB\t1\n"
    "chr1\t70\t70\tB\t5\n"
    "chrUn\t5\t10\tB\t4\n"
    "chrM\t1\t100\tB\t2\n"
    "M\t1\t100\tB\t2\n"
    "chr1\t10\t20\tA\t1\n"
    "chr1\t5\t20\tA\t1\n"
    "chrM\t3\t10\tA\t1\n"
    "chr1\t7\t7\tD\t1\n"
    "chr1\t8\t9\tE\t1\n"
    "chrUn\t8\t9\tE\t1\n"
    "chr2\t10\t20\tC\t1\n"
)


def configs():
    s = str(HERE / "pbmc_sub.tsv.gz")
    lines = (HERE / "pbmc_sub.chrom.sizes").read_text().split("\n")
    cs = {line.split()[0]: int(line.split()[1]) for line in lines if line}
    yield "paired_default", lambda: snap.pp.import_fragments(s, cs)
    yield "paired_min1500", lambda: snap.pp.import_fragments(s, cs, min_num_fragments=1500)
    yield "paired_whitelist", lambda: snap.pp.import_fragments(
        s, cs, min_num_fragments=0, whitelist=str(HERE / "whitelist.txt"))
    yield "paired_chrM_chr22", lambda: snap.pp.import_fragments(s, cs, min_num_fragments=0, chrM=["chr22"])
    yield "paired_unsorted", lambda: snap.pp.import_fragments(
        str(HERE / "pbmc_sub_shuffled.tsv.gz"), cs, sorted_by_barcode=False, min_num_fragments=1000)
    yield "edge", lambda: snap.pp.import_fragments(
        str(HERE / "edge.tsv"), {"chr2": 1000, "chr1": 500, "chrM": 200}, min_num_fragments=0)
    yield "edge_nomito", lambda: snap.pp.import_fragments(
        str(HERE / "edge.tsv"), {"chr2": 1000, "chr1": 500}, min_num_fragments=0)
    yield "single_end", lambda: snap.pp.import_fragments(
        str(HERE / "single_end.tsv.gz"), snap.genome.hg38, is_paired=False, min_num_fragments=0)
    yield "single_end_as_paired", lambda: snap.pp.import_fragments(
        str(HERE / "single_end.tsv.gz"), snap.genome.hg38, is_paired=True, min_num_fragments=0)


if __name__ == "__main__":
    make_inputs(Path(sys.argv[1]))
    (HERE / "edge.tsv").write_text(EDGE)
    for name, fn in configs():
        a = fn()
        save(name, a)
        print(name, a.n_obs, a.obsm[list(a.obsm.keys())[0]].nnz)
