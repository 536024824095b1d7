"""Where fragments come from: AnnData in memory, views, backed files, paths,
SnapATAC2 ``.h5ad``/``.h5ads`` files and lists of these (docs/spec.md sections 1.4, 1.6).

Every source yields its cells' fragments as CSR chunks of a bounded number of
fragments, so on-disk input is streamed and memory does not grow with the file.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np
import pandas as pd

from . import _core

if TYPE_CHECKING:
    import h5py

    from ._core import _Hdf5Layout


# h5py and anndata are imported when an .h5ad is read, not with the module: a
# fragment-file export never needs them (docs/spec.md 1.1.1).
def _h5py():
    import hdf5plugin  # noqa: F401  (registers the Blosc/zstd HDF5 filters SnapATAC2 uses)
    import h5py

    return h5py


def read_elem(elem):
    try:  # anndata >= 0.11
        from anndata.io import read_elem as read
    except ImportError:  # pragma: no cover
        from anndata.experimental import read_elem as read
    return read(elem)


PAIRED, SINGLE = "fragment_paired", "fragment_single"
CHUNK_FRAGMENTS = 1_000_000  # fragments per chunk handed to the C++ core

NO_FRAGMENTS = (
    "no fragment data found: looked for obsm['fragment_paired'] and obsm['fragment_single']{where}. "
    "Create it with fragcov.import_fragments (or snapatac2.pp.import_fragments)."
)


@dataclass
class Chunk:
    indptr: np.ndarray   # int64, starts at 0
    indices: np.ndarray  # int64 genome positions
    values: np.ndarray   # uint32 (paired) or int32 (single-end)
    rows: np.ndarray     # int64 positions of these cells in the source's cell order

    @property
    def n_fragments(self) -> int:
        return int(self.indptr[-1])


def _reference_from_frame(ref, where: str) -> tuple[list[str], np.ndarray]:
    if ref is None:
        raise ValueError(
            f"uns['reference_sequences'] is missing{where}: it lists the chromosomes and their lengths. "
            "Create the AnnData with fragcov.import_fragments (or snapatac2.pp.import_fragments)."
        )
    if isinstance(ref, dict):
        ref = pd.DataFrame(ref)
    try:
        names = [str(x) for x in np.asarray(ref["reference_seq_name"])]
        lengths = np.asarray(ref["reference_seq_length"], dtype=np.uint64)
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(
            f"uns['reference_sequences']{where} must be a table with columns reference_seq_name and "
            f"reference_seq_length ({err})"
        ) from None
    return names, lengths


def _as_chunk_arrays(indptr, indices, values, kind) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The core's dtypes, refusing values a cast would silently change (the core checks the rest)."""
    indptr = _exact(indptr, np.int64, "indptr")
    indptr = indptr - indptr[0]
    indices = _exact(indices, np.int64, "fragment positions (indices)")
    values = _exact(values, np.uint32 if kind == PAIRED else np.int32,
                    "fragment lengths" if kind == PAIRED else "single-end read lengths")
    return indptr, indices, values


def _exact(a, dtype, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype != dtype:
        if a.dtype.kind not in "iu":
            raise ValueError(f"{what} must be integers, got dtype {a.dtype}: the fragment data is corrupt")
        info = np.iinfo(dtype)
        if len(a) and (a.min() < info.min or a.max() > info.max):
            bad = a.min() if a.min() < info.min else a.max()
            raise ValueError(f"{what} hold {bad}, outside {info.min}-{info.max}: the fragment data is corrupt")
    return np.ascontiguousarray(a, dtype=dtype)


def _check_indptr(indptr: np.ndarray, n_fragments: int, n_obs: int | None, where: str) -> None:
    """Python slices the fragment arrays by indptr before the core sees a chunk,
    and a negative or decreasing indptr would make those slices wrap around."""
    if indptr.ndim != 1 or len(indptr) < 1:
        raise ValueError(f"the fragment matrix{where} has no indptr")
    if n_obs is not None and len(indptr) != n_obs + 1:
        raise ValueError(f"the fragment matrix{where} has {len(indptr) - 1} rows but obs has {n_obs} cells")
    if indptr[0] != 0 or (indptr[1:] < indptr[:-1]).any() or indptr[-1] > n_fragments:  # np.diff could overflow
        raise ValueError(f"the fragment matrix{where} is corrupt: its indptr must start at 0, never decrease "
                         f"and end within its {n_fragments} fragments")


def _row_batches(indptr: np.ndarray, rows: np.ndarray) -> Iterator[np.ndarray]:
    """Split `rows` (sorted) into consecutive batches of about CHUNK_FRAGMENTS fragments."""
    start = 0
    counts = indptr[rows + 1] - indptr[rows]
    cum = np.cumsum(counts)
    while start < len(rows):
        base = cum[start - 1] if start else 0
        stop = int(np.searchsorted(cum, base + CHUNK_FRAGMENTS, side="right"))
        stop = max(stop, start + 1)
        yield rows[start:stop]
        start = stop


class Source:
    """Cells in order, their obs table and their fragments. A context manager:
    leaving it closes the files the source opened itself."""

    names: list[str]
    lengths: np.ndarray
    kind: str
    n_obs: int

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def obs(self) -> pd.DataFrame:
        raise NotImplementedError

    def chunks(self) -> Iterator[Chunk]:
        raise NotImplementedError

    def core_input(self, codes: np.ndarray):
        """The chunks of an export for the C++ core (_core.export_coverage's `chunks`),
        each cell tagged with its track code (codes[row], -1: none): by default
        chunks() as tuples; a source the core reads itself returns its _core
        ChunkSource (fragcov/pipeline.hpp) instead."""
        return ((ch.indptr, ch.indices, ch.values, np.ascontiguousarray(codes[ch.rows])) for ch in self.chunks())

    def after_reading(self) -> None:
        """Called once every chunk is binned, before any track is written (a source's
        notices and checks of what it read)."""

    def n_fragments(self) -> int:
        raise NotImplementedError


class MemorySource(Source):
    """An in-memory AnnData (or a view of one)."""

    def __init__(self, adata):
        self.adata = adata
        keys = [k for k in (PAIRED, SINGLE) if k in adata.obsm.keys()]
        if not keys:
            raise ValueError(NO_FRAGMENTS.format(where=""))
        self.kind = keys[0]
        self.names, self.lengths = _reference_from_frame(adata.uns.get("reference_sequences"), "")
        self.n_obs = adata.n_obs
        self._matrix = None

    def matrix(self):
        if self._matrix is None:
            import scipy.sparse as sp

            m = self.adata.obsm[self.kind]
            m = m if sp.isspmatrix_csr(m) or isinstance(m, sp.csr_array) else sp.csr_matrix(m)
            _check_indptr(np.asarray(m.indptr), len(m.indices), self.n_obs, f" obsm['{self.kind}']")
            if len(m.data) != len(m.indices):
                raise ValueError(f"obsm['{self.kind}'] is corrupt: {len(m.data)} values for {len(m.indices)} "
                                 "positions")
            self._matrix = m
        return self._matrix

    def obs(self):
        return self.adata.obs

    def n_fragments(self):
        m = self.matrix()
        return int(m.indptr[-1] - m.indptr[0])

    def chunks(self):
        m = self.matrix()
        indptr = np.asarray(m.indptr, dtype=np.int64)
        for rows in _row_batches(indptr, np.arange(self.n_obs, dtype=np.int64)):
            a, b = int(rows[0]), int(rows[-1]) + 1
            lo, hi = indptr[a], indptr[b]
            yield Chunk(*_as_chunk_arrays(indptr[a:b + 1], m.indices[lo:hi], m.data[lo:hi], self.kind), rows)


class H5adSource(Source):
    """An .h5ad file read straight from HDF5, optionally restricted to some cells."""

    def __init__(self, path, rows: np.ndarray | None = None, obs: pd.DataFrame | None = None):
        """``obs``: the labels as the user sees them (a backed AnnData possibly edited in memory);
        default the file's."""
        self.path = Path(path)
        self._obs = obs
        try:
            self.file = _h5py().File(self.path, "r")
        except FileNotFoundError:
            raise FileNotFoundError(f"input file not found: '{self.path}'") from None
        except OSError as err:
            raise ValueError(f"cannot read '{self.path}' as an HDF5 .h5ad file: {err}") from None
        try:
            self._open(rows)
        except BaseException:
            self.file.close()
            raise

    def _open(self, rows) -> None:
        where = f" in '{self.path}'"
        obsm = self.file.get("obsm")
        keys = [k for k in (PAIRED, SINGLE) if obsm is not None and k in obsm]
        if not keys:
            raise ValueError(NO_FRAGMENTS.format(where=where))
        self.kind = keys[0]
        group = obsm[self.kind]
        if not isinstance(group, _h5py().Group) or "indptr" not in group:
            raise ValueError(f"obsm['{self.kind}']{where} is not a CSR matrix")
        ref = self.file.get("uns/reference_sequences")
        self.names, self.lengths = _reference_from_frame(None if ref is None else read_elem(ref), where)
        self.indptr = np.asarray(group["indptr"][:], dtype=np.int64)
        self.indices_ds, self.data_ds = group["indices"], group["data"]
        if self.indices_ds.shape != self.data_ds.shape:
            raise ValueError(f"obsm['{self.kind}']{where} is corrupt: {self.data_ds.shape[0]} values for "
                             f"{self.indices_ds.shape[0]} positions")
        _check_indptr(self.indptr, self.indices_ds.shape[0], _n_obs_of(self.file), f" obsm['{self.kind}']{where}")
        n_total = len(self.indptr) - 1
        self.rows = np.arange(n_total, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
        self.n_obs = len(self.rows)
        self._fd: int | None = None
        self._columns = False  # not looked at yet

    def obs(self):
        if self._obs is not None:
            return self._obs
        obs = read_elem(self.file["obs"])
        whole = self.n_obs == len(obs) and np.array_equal(self.rows, np.arange(len(obs)))
        return obs if whole else obs.iloc[self.rows]

    def n_fragments(self):
        return int((self.indptr[self.rows + 1] - self.indptr[self.rows]).sum())

    def chunks(self):
        # Cells are read in file order (coverage does not depend on cell order);
        # `rows` of each chunk maps them back to this source's cell order.
        order = np.argsort(self.rows, kind="stable")
        for batch in _row_batches(self.indptr, self.rows[order]):
            lo, hi = self.indptr[batch[0]], self.indptr[batch[-1] + 1]
            starts = self.indptr[batch] - lo
            ends = self.indptr[batch + 1] - lo
            positions = np.searchsorted(self.rows[order], batch)
            indices = self.indices_ds[lo:hi]
            data = self.data_ds[lo:hi]
            if len(batch) == 1 or np.array_equal(starts[1:], ends[:-1]):  # contiguous
                indptr = np.append(starts, ends[-1])
            else:  # a subset: gather the selected cells' slices
                take = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)])
                indices, data = indices[take], data[take]
                indptr = np.concatenate([[0], np.cumsum(ends - starts)])
            yield Chunk(*_as_chunk_arrays(indptr, indices, data, self.kind), order[positions])

    def core_input(self, codes):
        """The core reads and decodes the columns on its binning threads where it can (same chunks)."""
        columns = self._core_columns()
        if columns is None:
            return super().core_input(codes)
        return _core.H5adCells(columns, self.indptr, self.rows, np.ascontiguousarray(codes, dtype=np.int32),
                               CHUNK_FRAGMENTS)

    def _core_columns(self):
        """The fragment matrix's columns as the core reads them (_core.H5adColumns), or None
        when only h5py can read them."""
        if self._columns is False:
            self._columns = self._open_core_columns()
        return self._columns

    def _open_core_columns(self):
        # only where HDF5's addresses are the file's byte offsets: the default driver, no user block
        if self.file.driver != "sec2" or self.file.id.get_create_plist().get_userblock() != 0:
            return None
        where = f"obsm['{self.kind}']"
        positions, values = [_layout(ds, f"{what} ({where}/{ds.name.rsplit('/', 1)[-1]})") for ds, what in
                             ((self.indices_ds, "fragment positions"), (self.data_ds, "fragment values"))]
        if positions is None or values is None:
            return None
        fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._fd = fd
        return _core.H5adColumns.open(fd, str(self.path), self.kind == PAIRED, positions, values)

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.file.close()


def _layout(ds: h5py.Dataset, what: str) -> _Hdf5Layout | None:
    """A dataset's layout as HDF5 reports it, for the core to decide whether it reads
    the dataset itself (fragcov/hdf5_layout.hpp, docs/spec.md 2.5.0); None when it
    is not a chunked one-dimensional dataset with every chunk stored."""
    if ds.ndim != 1 or ds.chunks is None or ds.shape[0] == 0:
        return None
    dcpl = ds.id.get_create_plist()
    filters = []
    for i in range(dcpl.get_nfilters()):
        code, _flags, values, _name = dcpl.get_filter(i)
        filters.append((int(code), [int(v) for v in values]))
    table = []
    if hasattr(ds.id, "chunk_iter"):
        try:
            ds.id.chunk_iter(lambda info: table.append((info.chunk_offset[0], info.filter_mask, info.byte_offset,
                                                        info.size)))
        except Exception:  # HDF5 older than 1.12.3 / 1.14: one call per chunk
            table = []
    if not table:
        for i in range(ds.id.get_num_chunks()):
            info = ds.id.get_chunk_info(i)
            table.append((info.chunk_offset[0], info.filter_mask, info.byte_offset, info.size))
    chunks = np.array(table, dtype=np.uint64).reshape(-1, 4)
    # filter_mask bit i: HDF5 skipped filter i for that chunk (an optional filter that could not shrink it)
    mask, first = ds.id.read_direct_chunk((0,)) if len(chunks) else (0, b"")
    return {"what": what, "dtype": ds.dtype.str, "shape": [int(n) for n in ds.shape],
            "chunk_shape": [int(ds.chunks[0])], "filters": filters, "chunk_offsets": chunks[:, 0],
            "chunk_masks": chunks[:, 1].astype(np.uint32), "chunk_addresses": chunks[:, 2],
            "chunk_sizes": chunks[:, 3], "first_chunk": bytes(first), "first_chunk_mask": int(mask)}


def _n_obs_of(f: h5py.File) -> int | None:
    """Number of cells in an .h5ad's obs (its index column), without reading obs."""
    obs = f.get("obs")
    if not isinstance(obs, _h5py().Group):
        return None
    index = obs.attrs.get("_index")
    if isinstance(index, bytes):
        index = index.decode()
    if index is None or index not in obs:
        return None
    return int(obs[index].shape[0])


class ConcatSource(Source):
    """Several sources whose cells are concatenated in order (the AnnDataSet case)."""

    def __init__(self, parts: list[Source], obs: pd.DataFrame | None = None):
        if not parts:
            raise ValueError("adata is an empty list: give at least one AnnData or .h5ad path")
        first = parts[0]
        for i, p in enumerate(parts[1:], 1):
            if p.names != first.names or not np.array_equal(p.lengths, first.lengths):
                raise ValueError(
                    f"input {i} has different reference sequences than input 0; "
                    "all inputs must be imported against the same genome"
                )
            if p.kind != first.kind:
                raise ValueError(f"input {i} holds {p.kind} but input 0 holds {first.kind}; "
                                 "paired and single-end data cannot be mixed")
        self.parts, self.names, self.lengths, self.kind = parts, first.names, first.lengths, first.kind
        self.offsets = np.cumsum([0] + [p.n_obs for p in parts])
        self.n_obs = int(self.offsets[-1])
        self._obs = obs

    def obs(self):
        if self._obs is not None:
            return self._obs
        return pd.concat([p.obs() for p in self.parts], axis=0)

    def n_fragments(self):
        counts = [p.n_fragments() for p in self.parts]
        return None if None in counts else sum(counts)

    def chunks(self):
        for offset, part in zip(self.offsets, self.parts):
            for ch in part.chunks():
                ch.rows = ch.rows + offset
                yield ch

    def core_input(self, codes):
        """Each part's input with its cells' codes, read one after the other (a flat list)."""
        inputs = []
        for part, a, b in zip(self.parts, self.offsets[:-1], self.offsets[1:]):
            got = part.core_input(codes[a:b])
            inputs.extend(got if isinstance(got, list) else [got])
        return inputs

    def after_reading(self):
        for part in self.parts:
            part.after_reading()

    def close(self):
        for part in self.parts:
            part.close()


class SnapObjectSource(Source):
    """An AnnData or AnnDataSet object opened by SnapATAC2 (its Rust backend).

    Read through the object's own API: SnapATAC2 keeps its file open (and, in
    r+ mode, HDF5-locked), so a second reader could not open it, and columns the
    user just added to ``obs`` are visible only through the object.
    """

    def __init__(self, obj):
        self.obj = obj
        # AnnDataSet: fragments live in the member files, stacked by `adatas`
        self._arrays = obj.adatas if type(obj).__name__ == "AnnDataSet" else obj
        keys = set(self._arrays.obsm.keys())
        kinds = [k for k in (PAIRED, SINGLE) if k in keys]
        if not kinds:
            raise ValueError(NO_FRAGMENTS.format(where=" in the SnapATAC2 object"))
        self.kind = kinds[0]
        try:
            ref = obj.uns["reference_sequences"]
        except (KeyError, RuntimeError):
            ref = None
        ref = _polars_to_pandas(ref) if ref is not None else None
        self.names, self.lengths = _reference_from_frame(ref, " in the SnapATAC2 object")
        self.n_obs = int(obj.n_obs)
        self._obs = None

    def obs(self):
        if self._obs is None:
            obs = _polars_to_pandas(self.obj.obs[:])
            obs.index = pd.Index([str(x) for x in self.obj.obs_names])
            self._obs = obs
        return self._obs

    def n_fragments(self):
        return None  # not known without reading every cell; progress bars count up instead

    def _rows_per_chunk(self) -> int:
        obs = self.obs()
        if "n_fragment" in obs.columns and self.n_obs:
            mean = float(np.nanmean(np.asarray(obs["n_fragment"], dtype=np.float64)))
            if mean > 0:
                return int(min(max(CHUNK_FRAGMENTS // mean, 1), 100_000))
        return 100  # unknown density: 100 cells per chunk

    def chunks(self):
        element = self._arrays.obsm.el(self.kind)
        for m, start, stop in element.chunked(self._rows_per_chunk()):
            rows = np.arange(start, stop, dtype=np.int64)
            yield Chunk(*_as_chunk_arrays(m.indptr, m.indices, m.data, self.kind), rows)


def _polars_to_pandas(frame) -> pd.DataFrame:
    if isinstance(frame, pd.DataFrame):
        return frame
    try:
        return frame.to_pandas()
    except Exception:  # polars without pyarrow
        return pd.DataFrame({c: frame[c].to_list() for c in frame.columns})


def _h5ads_source(path: Path) -> Source:
    """A SnapATAC2 AnnDataSet file: obs here, members listed in uns/AnnDataSet."""
    with _h5py().File(path, "r") as f:
        if "uns/AnnDataSet" not in f:
            raise ValueError(f"'{path}' has no uns['AnnDataSet'] table: is it a SnapATAC2 AnnDataSet (.h5ads)?")
        table = read_elem(f["uns/AnnDataSet"])
        obs = read_elem(f["obs"]) if "obs" in f else None
    def member(key, stored):
        stored = Path(str(stored))
        tried = [stored] if stored.is_absolute() else [stored, path.parent / stored]
        found = next((p for p in tried if p.exists()), None)
        if found is None:
            raise FileNotFoundError(
                f"member '{key}' of AnnDataSet '{path}' not found; tried: " + ", ".join(f"'{p}'" for p in tried)
            )
        return H5adSource(found)

    return _all_or_none([lambda k=k, s=s: member(k, s) for k, s in zip(table["keys"], table["file_path"])],
                        lambda parts: ConcatSource(parts, obs))


def _all_or_none(openers, combine) -> Source:
    """combine(parts) of every opened part; on any error the parts opened so far are closed."""
    parts: list[Source] = []
    try:
        for open_part in openers:
            parts.append(open_part())
        return combine(parts)
    except BaseException:
        for p in parts:
            p.close()
        raise


def open_source(adata) -> Source:
    """Resolve any supported `adata` argument into a Source."""
    ad = sys.modules.get("anndata")  # an AnnData exists only once anndata was imported; paths do not need it
    if isinstance(adata, Source):
        return adata
    if isinstance(adata, (str, os.PathLike)):
        from ._inputs import HDF5, regular_file

        f = regular_file(adata, "input file")  # HDF5 seeks: a stream is refused (docs/spec.md 6.6)
        path = Path(adata)
        if f.kind != HDF5:
            raise ValueError(f"input file '{path}' is not an HDF5 .h5ad/.h5ads file (it is text: a fragment file? "
                             "export_coverage reads one with chrom_sizes; import_fragments makes an .h5ad of it)")
        if path.suffix.lower() == ".h5ads":
            return _h5ads_source(path)
        try:
            with _h5py().File(path, "r") as f:
                is_dataset = "uns/AnnDataSet" in f and "obsm" not in f
        except OSError as err:
            raise ValueError(f"cannot read '{path}' as an HDF5 .h5ad/.h5ads file: {err}") from None
        return _h5ads_source(path) if is_dataset else H5adSource(path)
    if ad is not None and isinstance(adata, ad.AnnData):
        if adata.isbacked:
            root = adata._adata_ref if adata.is_view else adata
            rows = None
            if adata.is_view:
                rows = np.arange(root.n_obs, dtype=np.int64)[adata._oidx]
            return H5adSource(root.filename, rows, obs=adata.obs)
        return MemorySource(adata)
    if _is_snapatac2_object(adata):
        if adata.is_closed():
            raise ValueError("the SnapATAC2 AnnData object is closed: reopen it with snapatac2.read(...)")
        return SnapObjectSource(adata)
    if isinstance(adata, (list, tuple)):
        return _all_or_none([lambda a=a: open_source(a) for a in adata], ConcatSource)
    raise TypeError(
        f"adata must be an AnnData, a path to an .h5ad/.h5ads file, or a list of those; "
        f"got {type(adata).__name__}"
    )


def _is_snapatac2_object(obj) -> bool:
    """SnapATAC2's AnnData/AnnDataSet classes come from its Rust extension
    (their module shows as 'builtins' in snapatac2 2.x)."""
    cls = type(obj)
    return cls.__name__ in ("AnnData", "AnnDataSet") and all(
        hasattr(obj, a) for a in ("obsm", "obs_names", "is_closed", "n_obs"))
