"""The types of the public parameters, for annotations only (imported under TYPE_CHECKING: nothing
here is loaded at run time)."""
from __future__ import annotations

import os
from typing import Any, Mapping, Sequence, Union

import numpy as np
import pandas as pd
from anndata import AnnData

from .genome import Genome

PathLike = Union[str, "os.PathLike[str]"]
# an AnnData (in memory, a view or backed), .h5ad/.h5ads path(s), fragment file(s) (a list, or a dict
# {sample: path}); SnapATAC2's AnnData/AnnDataSet objects are untyped (Any) and so accepted too
Input = Union[AnnData, PathLike, Sequence[Union[AnnData, PathLike]], Mapping[str, PathLike]]
# an obs column, one label per cell (a Series is matched by its index), or for fragment files a
# barcode<TAB>group table, a dict {barcode: group} or a Series indexed by barcode
Groupby = Union[str, Sequence[Any], np.ndarray, pd.Series, Mapping[str, Any], PathLike]
Selections = Union[str, Sequence[str], None]
# a BED file, or "chrom:start-end" strings (output regions: chromosome names too)
Regions = Union[PathLike, Sequence[Union[str, tuple[str, int, int]]], None]
# a genome name ("hg38"), a Genome, {chrom: length} or a chrom.sizes file
ChromSizes = Union[str, Genome, Mapping[str, int], PathLike, None]
# an obs column name or one number per cell
PerCell = Union[str, Sequence[float], np.ndarray, pd.Series, None]
