"""Regenerate the test data of tests/test_export_fragments.py (needs snapatac2==2.9.0 and the
project's shared fixtures; the tests themselves need neither).

    cd tests/data/export_fragments && python make_data.py FIXTURES_DIR

FIXTURES_DIR: the folder of the reference fixtures (pbmc_mini/, single_end/, ... ; see
tests/data/README.md).
"""
import shutil
import sys
from pathlib import Path

import anndata as ad
import hdf5plugin  # noqa: F401
import numpy as np
import pandas as pd
import scipy.sparse as sp

import snapatac2 as snap

HERE = Path(__file__).resolve().parent
if len(sys.argv) != 2:
    sys.exit(__doc__)
FIXTURES = Path(sys.argv[1])


def make_paired():
    """12 cells of pbmc_mini (4 per cell type), every 8th fragment of each cell plus all chrM ones."""
    src = ad.read_h5ad(FIXTURES / "pbmc_mini/snapatac2_2.9.0/pbmc_mini.snap.h5ad")
    picked = []
    for ct in ["CD14 Mono", "CD4 Naive", "CD8 Memory"]:
        picked += list(np.flatnonzero(src.obs["cell_type"].to_numpy() == ct)[:4])
    picked = sorted(picked)  # keep the file's (interleaved) cell order
    # add the cells with chrM fragments so chromosome names beyond the first appear
    m = src.obsm["fragment_paired"]
    off = np.cumsum(src.uns["reference_sequences"]["reference_seq_length"].to_numpy().astype(np.int64))
    chrom_of = np.searchsorted(off, m.indices, side="right")
    cell_of = np.repeat(np.arange(src.n_obs), np.diff(m.indptr))
    picked = sorted(set(picked) | set(cell_of[chrom_of == 2][:3].tolist()))
    sub = src[picked]
    m = sub.obsm["fragment_paired"]
    rows = []
    for i in range(sub.n_obs):
        lo, hi = m.indptr[i], m.indptr[i + 1]
        j = np.arange(lo, hi)
        keep = ((j - lo) % 8 == 0) | (m.indices[lo:hi] >= off[1])
        rows.append(j[keep])
    keep = np.concatenate(rows)
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    mat = sp.csr_matrix((m.data[keep].astype(np.uint32), m.indices[keep].astype(np.int64), indptr),
                        shape=m.shape)
    obs = sub.obs[["cell_type"]].copy()
    obs["cell_type"] = obs["cell_type"].astype(str).astype("category")
    obs["alias"] = [f"cell{i:02d}" for i in range(sub.n_obs)]
    out = ad.AnnData(obs=obs, obsm={"fragment_paired": mat},
                     uns={"reference_sequences": src.uns["reference_sequences"]})
    out.write_h5ad(HERE / "paired_sub.h5ad")
    print("paired_sub.h5ad:", out.n_obs, "cells,", mat.nnz, "fragments")


def make_single():
    """First 1,200 reads of tests/data/import/single_end.tsv.gz, barcodes se0..se5 (read i -> se{i % 6})."""
    se = pd.read_csv(HERE.parent / "import/single_end.tsv.gz", sep="\t", header=None).iloc[:1200]
    se[3] = [f"se{i % 6}" for i in range(len(se))]
    se.to_csv(HERE / "single_end_reads.tsv.gz", sep="\t", header=False, index=False)
    path = HERE / "single_end.h5ad"
    path.unlink(missing_ok=True)
    a = snap.pp.import_fragments(str(HERE / "single_end_reads.tsv.gz"), snap.genome.hg38,
                                 file=str(path), is_paired=False, min_num_fragments=0,
                                 sorted_by_barcode=False)
    a.obs["grp"] = ["odd" if int(b[2:]) % 2 else "even" for b in a.obs_names]
    print("single_end.h5ad:", a)
    a.close()
    (HERE / "single_end_reads.tsv.gz").unlink()


# (name, input file, keyword arguments of snap.ex.export_fragments)
CONFIGS = [
    ("paired_default", "paired_sub.h5ad", dict(groupby="cell_type")),
    ("paired_ids_gz_sel", "paired_sub.h5ad",
     dict(groupby="cell_type", ids="alias", selections=["CD8 Memory", "CD14 Mono"], prefix="frag_",
          suffix=".bed.gz")),
    ("paired_len100to300_plain", "paired_sub.h5ad",
     dict(groupby="cell_type", min_frag_length=100, max_frag_length=300, suffix=".bed")),
    ("paired_min150_zstd19", "paired_sub.h5ad",
     dict(groupby="cell_type", min_frag_length=150, suffix=".tsv", compression="zstandard",
          compression_level=19)),
    ("paired_max1_empty", "paired_sub.h5ad", dict(groupby="cell_type", max_frag_length=1)),
    ("single_default", "single_end.h5ad", dict(groupby="grp")),
    ("single_lenfilter_ignored", "single_end.h5ad",
     dict(groupby="grp", min_frag_length=100, max_frag_length=150, suffix=".bed")),
]


def run_configs():
    with open(HERE / "CONFIGS.txt", "w") as fh:
        for name, inp, kw in CONFIGS:
            out = HERE / "expected" / name
            shutil.rmtree(out, ignore_errors=True)
            a = snap.read(str(HERE / inp), backed="r")
            res = snap.ex.export_fragments(a, out_dir=str(out), **kw)
            a.close()
            fh.write(f"{name}: snap.ex.export_fragments(snap.read({inp!r}, backed='r'), "
                     + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")\n")
            print(name, {k: str(v) for k, v in res.items()})


if __name__ == "__main__":
    make_paired()
    make_single()
    run_configs()
