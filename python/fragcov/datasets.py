"""Small datasets shipped with fragcov, in the spirit of ``snapatac2.datasets``.

:func:`demo` gives the bundled demo: 60 cells of three cell types (``CD14 Mono``, ``CD4 Naive``,
``CD8 Memory``) on chr21/chr22 of hg38, as a 10x fragment file, a cell table and an annotated
``.h5ad`` made from them, so that SnapATAC2's own example runs after ``import fragcov as snap``.

Examples
--------
>>> import fragcov as snap
>>> data = snap.read(snap.datasets.demo(), backed="r")
>>> snap.ex.export_coverage(data, groupby="cell_type", selections=["CD14 Mono"], suffix=".bedgraph.zst")
{'CD14 Mono': './CD14 Mono.bedgraph.zst'}
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["demo"]

DEMO = Path(__file__).resolve().parent / "data" / "demo"

# type -> file of the demo folder (the .h5ad is made from them, see demo())
_FILES = {
    "fragment": "fragments.tsv.gz",
    "cell_table": "barcode_to_cluster.tsv",
    "groups": "groups.tsv",
    "chrom_sizes": "chrom.sizes",
    "blacklist": "blacklist.bed",
    "genes": "genes.gtf",
    "peaks": "peaks.bed",
}
TYPES = ("annotated_h5ad", *_FILES, "folder")


def demo(type: str = "annotated_h5ad") -> Path:  # noqa: A002 - SnapATAC2's name
    """The path of one file of the bundled demo dataset.

    60 cells (20 each of ``CD14 Mono``, ``CD4 Naive``, ``CD8 Memory``) of a synthetic
    PBMC-like sample on chr21/chr22 (hg38 lengths), 101,526 fragments.

    Parameters
    ----------
    type
        ``"annotated_h5ad"`` (default): an ``.h5ad`` in SnapATAC2's layout whose ``obs`` holds
        ``cell_type``, ``sample`` and ``ReadsInTSS`` (made on first use from the files below by
        :func:`fragcov.import_fragments` and kept in ``$FRAGCOV_DATA_DIR``, default
        ``~/.cache/fragcov``; made again when fragcov's version changes).
        ``"fragment"``: the 10x fragment file (``fragments.tsv.gz``).
        ``"cell_table"``: ``barcode_to_cluster.tsv``, columns ``barcode``, ``cell_type``,
        ``sample``, ``ReadsInTSS`` (with that header).
        ``"groups"``: ``groups.tsv``, ``barcode<TAB>cell type`` without a header.
        ``"chrom_sizes"``, ``"blacklist"`` (two made-up regions), ``"genes"`` (a GTF of
        invented genes, for ``fragcov.pl.tracks``), ``"peaks"`` (a BED of the demo's peaks, anchors for
        :func:`fragcov.profile`), or ``"folder"``: the folder holding them
        all (inside the installed package: copy it before writing next to the files).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import fragcov as snap
    >>> data = snap.read(snap.datasets.demo(), backed="r")
    >>> sorted(data.obs["cell_type"].unique())
    ['CD14 Mono', 'CD4 Naive', 'CD8 Memory']
    >>> tracks = snap.ex.export_coverage(data, groupby="cell_type", selections=["CD14 Mono"],
    ...                                  suffix=".bedgraph.zst", out_dir="demo-tracks")
    >>> snap.datasets.demo("fragment").name
    'fragments.tsv.gz'
    """
    if not isinstance(type, str) or type not in TYPES:
        raise ValueError(f"unknown demo type {type!r}: use one of {', '.join(map(repr, TYPES))}")
    if type == "folder":
        return DEMO
    if type in _FILES:
        return DEMO / _FILES[type]
    return _annotated_h5ad()


def _cache_dir() -> Path:
    if os.environ.get("FRAGCOV_DATA_DIR"):
        return Path(os.environ["FRAGCOV_DATA_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fragcov"


def _annotated_h5ad() -> Path:
    """demo.h5ad made once per version: imported from the fragment file with the cell table's
    columns in obs, written under a temporary name and renamed (a concurrent caller never sees
    a partial file)."""
    import tempfile
    import warnings

    from . import __version__
    from ._import import import_fragments

    folder = _cache_dir()
    path = folder / f"demo-{__version__}.h5ad"
    if path.is_file():
        return path
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(f"cannot create the data folder '{folder}' for the demo .h5ad ({err.strerror}); "
                      "set FRAGCOV_DATA_DIR to a writable folder") from None
    fd, tmp = tempfile.mkstemp(prefix=".demo-", suffix=".h5ad", dir=folder)
    os.close(fd)
    os.unlink(tmp)  # import_fragments writes the file itself
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the cell table's every barcode is in the file
            adata = import_fragments(DEMO / _FILES["fragment"], DEMO / _FILES["chrom_sizes"], file=tmp,
                                     min_num_fragments=0, groups=DEMO / _FILES["cell_table"])
            assert not isinstance(adata, list)  # one file in, one AnnData out
            adata.file.close()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
