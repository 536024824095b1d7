"""fragcov.read: an .h5ad opened like ``snapatac2.read(path, backed="r")`` (docs/spec.md 1.10.6)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from anndata import AnnData

    from ._types import PathLike


def read(filename: PathLike, backed: str | None = "r") -> AnnData:
    """Open an ``.h5ad`` file as an ``AnnData`` whose fragments stay on disk.

    ``anndata.read_h5ad(path, backed="r")`` leaves ``X`` on disk but loads ``obsm`` (where
    fragments live) into memory. ``fragcov.read`` loads only ``obs``, ``var`` and ``uns``: the
    result is a backed, read-only ``AnnData`` (``isbacked`` is True) that fragcov's functions
    stream from the file, a chunk of cells at a time, exactly as they stream a path. ``obs`` is
    in memory: columns added to it in the session are seen by ``export_coverage``; views
    (``data[mask]``) export only their cells. ``obsm`` is empty in the object (the fragments are
    read from the file when needed); use ``backed=None`` for everything in memory.

    Parameters
    ----------
    filename
        Path of an ``.h5ad`` file (SnapATAC2's layout: ``obsm["fragment_paired"]`` or
        ``obsm["fragment_single"]``, ``uns["reference_sequences"]``).
    backed
        ``"r"`` (default): as above. ``None``: ``anndata.read_h5ad(filename)``, all in memory.
        ``"r+"`` (SnapATAC2's default) is not offered: fragcov never writes to its input.

    Returns
    -------
    anndata.AnnData

    Examples
    --------
    >>> import fragcov as snap
    >>> data = snap.read(snap.datasets.demo(), backed="r")
    >>> data.isbacked, data.n_obs
    (True, 60)
    >>> tracks = snap.ex.export_coverage(data, groupby="cell_type", selections=["CD14 Mono"],
    ...                                  suffix=".bedgraph.zst", out_dir="demo-tracks")
    >>> b_cells = data[data.obs["cell_type"] == "CD4 Naive"]          # a view: its cells only
    >>> tracks = snap.ex.export_coverage(b_cells, groupby="cell_type", out_dir="demo-tracks")
    """
    import anndata as ad
    import h5py

    try:  # anndata >= 0.11
        from anndata.io import read_elem
    except ImportError:  # pragma: no cover
        from anndata.experimental import read_elem

    if not isinstance(filename, (str, os.PathLike)):
        raise TypeError(f"filename must be a path, got {type(filename).__name__}")
    path = Path(filename)
    if not path.exists():
        raise FileNotFoundError(f"file not found: '{path}'")
    if backed is None:
        return ad.read_h5ad(path)
    if backed != "r":
        raise ValueError(f"backed must be 'r' (fragments stay on disk) or None (all in memory), got {backed!r}; "
                         "fragcov never writes to its input ('r+')")
    if path.suffix.lower() == ".h5ads":
        raise ValueError(f"'{path}' is a SnapATAC2 AnnDataSet (.h5ads): pass its path to fragcov's functions, "
                         "which read its members as one dataset")
    import hdf5plugin  # noqa: F401  (SnapATAC2's Blosc/zstd filters)

    try:
        with h5py.File(path, "r") as f:
            if "obs" not in f:
                raise ValueError(f"'{path}' has no obs: is it an .h5ad file?")
            parts = {k: read_elem(f[k]) for k in ("obs", "var", "uns") if k in f}
    except OSError as err:
        raise ValueError(f"cannot read '{path}' as an HDF5 .h5ad file: {err}") from None
    return ad.AnnData(**parts, filename=path, filemode="r")
