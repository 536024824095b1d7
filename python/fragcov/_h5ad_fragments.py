"""import_fragments' result from the C++ importer's cell batches: an AnnData in
SnapATAC2's layout, in memory or written batch by batch into an .h5ad file.

The file holds what ``AnnData.write_h5ad`` would write for the same object
(anndata's encodings), with the fragment matrix in chunked datasets compressed
as SnapATAC2 2.9.0 compresses its own (Blosc + zstd, byte shuffle), so that
both anndata (with hdf5plugin) and SnapATAC2 read it.
"""
from __future__ import annotations

from typing import Any, Iterable

import h5py
import hdf5plugin
import numpy as np
import pandas as pd

try:  # anndata >= 0.11
    from anndata.io import read_elem, sparse_dataset, write_elem
except ImportError:  # pragma: no cover
    from anndata.experimental import read_elem, sparse_dataset, write_elem

from ._fragment_file import ReaderSettings

CHUNK_ELEMENTS = 1 << 18  # per HDF5 chunk of the fragment arrays (2 MiB of int64)
# zstd level 3: within 1% of the size at SnapATAC2's level 5, at a third of the CPU time
COMPRESSION = hdf5plugin.Blosc(cname="zstd", clevel=3, shuffle=hdf5plugin.Blosc.SHUFFLE)


def qc_frame(barcodes, n_fragment, n_mito, total) -> pd.DataFrame:
    """obs: n_fragment, frac_dup = 1 - lines / count sum, frac_mito = mito lines / lines (SnapATAC2's QC)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lines = (n_fragment + n_mito).astype(np.float64)
        frac_dup = 1.0 - lines / total.astype(np.float64)
        frac_mito = n_mito.astype(np.float64) / lines
    return pd.DataFrame({"n_fragment": n_fragment.astype(np.uint64), "frac_dup": frac_dup, "frac_mito": frac_mito},
                        index=pd.Index(list(barcodes), dtype=object))


def reference_frame(settings: ReaderSettings) -> pd.DataFrame:
    return pd.DataFrame({"reference_seq_name": pd.Series(settings.names, dtype=object),
                         "reference_seq_length": pd.Series(settings.lengths, dtype=np.uint64)})


def to_anndata(batches: Iterable[dict], settings: ReaderSettings, obs_hook=None):
    """The whole result in memory (import_fragments without `file`)."""
    import anndata as ad
    import scipy.sparse as sp

    parts: dict[str, list] = {k: [] for k in ("barcodes", "n_fragment", "n_mito", "total", "indices", "data")}
    counts = []
    for b in batches:
        for k in parts:
            parts[k].append(b[k])
        counts.append(np.diff(b["indptr"]))
    if not parts["barcodes"] or not sum(len(x) for x in parts["barcodes"]):
        return None
    cat: dict[str, Any] = {k: np.concatenate(v) if k != "barcodes" else [bc for x in v for bc in x]
                           for k, v in parts.items()}
    indptr = np.zeros(len(cat["barcodes"]) + 1, dtype=np.int64)
    np.cumsum(np.concatenate(counts), out=indptr[1:])
    genome_length = int(sum(settings.lengths))
    matrix = sp.csr_matrix((len(cat["barcodes"]), genome_length), dtype=cat["data"].dtype)
    matrix.data, matrix.indices, matrix.indptr = cat["data"], cat["indices"], indptr  # int64, no downcast
    obs = qc_frame(cat["barcodes"], cat["n_fragment"], cat["n_mito"], cat["total"])
    if obs_hook is not None:
        obs = obs_hook(obs)
    return ad.AnnData(obs=obs, obsm={settings.kind: matrix}, uns={"reference_sequences": reference_frame(settings)})


class _AppendedColumn:
    """A growing 1-D dataset written in whole chunks (no chunk is compressed twice)."""

    def __init__(self, group: h5py.Group, name: str, dtype):
        self.ds = group.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype,
                                       chunks=(CHUNK_ELEMENTS,), **COMPRESSION)
        self.pending: list[np.ndarray] = []
        self.n_pending = 0

    def append(self, values: np.ndarray) -> None:
        self.pending.append(values)
        self.n_pending += len(values)
        if self.n_pending >= CHUNK_ELEMENTS:
            self.flush(whole_chunks=True)

    def flush(self, whole_chunks: bool = False) -> None:
        if not self.pending:
            return
        data = np.concatenate(self.pending) if len(self.pending) > 1 else self.pending[0]
        n = len(data) - len(data) % CHUNK_ELEMENTS if whole_chunks else len(data)
        if n:
            start = self.ds.shape[0]
            self.ds.resize((start + n,))
            self.ds[start:] = data[:n]
        rest = data[n:]
        self.pending = [rest] if len(rest) else []
        self.n_pending = len(rest)


def write_h5ad(path, batches: Iterable[dict], settings: ReaderSettings, obs_hook=None) -> int:
    """Writes the cells to `path` as they arrive; returns the number of cells (0: nothing written
    but an empty AnnData)."""
    import anndata as ad

    genome_length = int(sum(settings.lengths))
    qc: dict[str, list] = {k: [] for k in ("barcodes", "n_fragment", "n_mito", "total")}
    with h5py.File(path, "w") as f:
        matrix = f.create_group(f"obsm/{settings.kind}")
        columns = {"indices": _AppendedColumn(matrix, "indices", np.int64),
                   "data": _AppendedColumn(matrix, "data", np.uint32 if settings.is_paired else np.int32),
                   "indptr": _AppendedColumn(matrix, "indptr", np.int64)}
        columns["indptr"].append(np.zeros(1, dtype=np.int64))
        n_entries = 0
        for b in batches:
            columns["indices"].append(b["indices"])
            columns["data"].append(b["data"])
            columns["indptr"].append(b["indptr"][1:] + n_entries)
            n_entries += len(b["indices"])
            for k in qc:
                qc[k].append(b[k])
        n_cells = sum(len(x) for x in qc["barcodes"])
        if n_cells:
            for c in columns.values():
                c.flush()
            obs = qc_frame([bc for x in qc["barcodes"] for bc in x],
                           *(np.concatenate(qc[k]) for k in ("n_fragment", "n_mito", "total")))
            if obs_hook is not None:  # columns added to the QC table (samples, groups)
                obs = obs_hook(obs)
            layout = ad.AnnData(obs=obs, uns={"reference_sequences": reference_frame(settings)})
            f.attrs["encoding-type"], f.attrs["encoding-version"] = "anndata", "0.1.0"
            f["obsm"].attrs["encoding-type"], f["obsm"].attrs["encoding-version"] = "dict", "0.1.0"
            matrix.attrs["encoding-type"], matrix.attrs["encoding-version"] = "csr_matrix", "0.1.0"
            matrix.attrs["shape"] = np.array([n_cells, genome_length], dtype=np.int64)
            write_elem(f, "obs", layout.obs)
            write_elem(f, "var", layout.var)
            write_elem(f, "uns", dict(layout.uns))
            for name in ("layers", "obsp", "varm", "varp"):
                write_elem(f, name, {})
    if not n_cells:
        ad.AnnData().write_h5ad(path)
    return n_cells


def open_backed(path):
    """The written file as a read-only backed AnnData whose fragment matrix stays on disk.

    ``anndata.read_h5ad(path, backed="r")`` would read ``obsm`` into memory
    (12 bytes per fragment); here ``obsm`` holds anndata's lazy CSR datasets,
    as anndata's own backed reader builds them but without loading them.
    """
    import anndata as ad

    f = h5py.File(path, "r")
    try:
        parts = {k: read_elem(f[k]) for k in ("obs", "var", "uns", "varm", "obsp", "varp", "layers") if k in f}
        parts["obsm"] = {k: sparse_dataset(f["obsm"][k]) for k in f.get("obsm", {})}
        return ad.AnnData(filename=f, **parts)
    except BaseException:
        f.close()
        raise
