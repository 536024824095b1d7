"""Which cells make which track: group labels per cell (docs/spec.md section 5)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

_LABEL_SEQUENCES = (pd.Index, np.ndarray, list, tuple, pd.Categorical)


def obs_column(source, name: str, what: str, hint: str = "") -> pd.Series:
    """Column ``name`` of the source's obs, or a ValueError listing the columns there are."""
    obs = source.obs()
    if name not in obs.columns:
        raise ValueError(f"{what}={name!r} is not a column of adata.obs; available columns: "
                         f"{', '.join(map(str, obs.columns)) or '(none)'}{hint}")
    return obs[name]


def labels_of(source, groupby, what: str = "groupby") -> pd.Series:
    """One label per cell of ``source``, in its cell order (missing: NA)."""
    if isinstance(groupby, str):
        return pd.Series(obs_column(source, groupby, what).values)
    if isinstance(groupby, pd.Series):
        return _aligned(groupby, source.obs().index, what)
    if isinstance(groupby, _LABEL_SEQUENCES):
        if isinstance(groupby, (list, tuple)) and groupby and all(isinstance(g, str) for g in groupby) \
                and len(groupby) != source.n_obs and set(groupby) <= set(map(str, source.obs().columns)):
            raise ValueError(
                f"{what}={list(groupby)!r} names obs column(s), not one label per cell: to group by a column, "
                f"pass its name as a string ({what}={groupby[0]!r}); for one track per pair of two columns "
                f"(e.g. cell type x sample), pass the second as split_by={groupby[-1]!r}")
        values = pd.Series(groupby) if isinstance(groupby, pd.Categorical) \
            else pd.Series(np.asarray(groupby, dtype=object))
        if len(values) != source.n_obs:
            hint = ""
            if len(values) and all(isinstance(v, str) for v in values[:5]):
                hint = f" To group by a column of adata.obs, pass its name as a string, e.g. {what}='cell_type'."
            raise ValueError(
                f"{what} has {len(values)} labels but the data has {source.n_obs} cells: give one label per cell "
                f"in observation order.{hint}"
            )
        return values
    raise TypeError(f"{what} must be an obs column name or one label per cell, got {type(groupby).__name__}")


def _aligned(series: pd.Series, obs_names: pd.Index, what: str) -> pd.Series:
    """A Series' values in obs order, matched by its index (pandas semantics, never by position)."""
    index = series.index
    names = pd.Index(obs_names)
    if index.has_duplicates:
        raise ValueError(f"{what} is a Series whose index has duplicates; its index must be the cells' "
                         "obs_names (or pass .to_numpy() for labels in observation order)")
    if len(index) != len(names) or not index.isin(names).all():
        missing = names[~names.isin(index)]
        raise ValueError(
            f"{what} is a Series whose index does not match adata.obs_names ({len(missing)} of {len(names)} "
            f"cells have no entry, e.g. {list(missing[:3])}); a Series is matched to cells by its index: "
            "index it by obs_names, or pass .to_numpy() for labels in observation order")
    return series.reindex(names).reset_index(drop=True)


def group_codes(labels: pd.Series, selections) -> tuple[list[str], np.ndarray]:
    """Group names (as strings) and an int32 code per cell (-1: no group or not selected)."""
    missing = labels.isna().to_numpy()
    present = labels[~missing]
    if isinstance(labels.dtype, pd.CategoricalDtype):
        used = set(present.astype(str))
        categories = list(labels.cat.categories)
        names = [str(c) for c in categories if str(c) in used]
        _check_distinct_names(categories)
    else:
        distinct = pd.unique(present.to_numpy(dtype=object))
        _check_distinct_names(distinct)
        names = sorted({str(v) for v in distinct})
    if selections is not None:
        if isinstance(selections, str):
            selections = [selections]
        wanted = [str(s) for s in selections]
        unknown = [s for s in wanted if s not in names]
        if unknown:
            raise ValueError(
                f"selections name group(s) not found: {', '.join(map(repr, unknown))}; available groups: "
                f"{', '.join(map(repr, names))}"
            )
        names = list(dict.fromkeys(wanted))
    code_of = {n: i for i, n in enumerate(names)}
    as_str = labels.astype(object).where(~missing, None)
    codes = np.fromiter((-1 if v is None else code_of.get(str(v), -1) for v in as_str), dtype=np.int32,
                        count=len(as_str))
    return names, codes


def _check_distinct_names(labels) -> None:
    """Labels that differ but print the same (1 and '1') would silently share a track."""
    seen: dict[str, object] = {}
    for v in labels:
        s = str(v)
        if s in seen and not _same(seen[s], v):
            raise ValueError(f"group labels {seen[s]!r} and {v!r} both become the group name {s!r}; "
                             "make the labels distinct as text (e.g. convert them all to str)")
        seen.setdefault(s, v)


def _same(a, b) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # noqa: BLE001  (unusual label types: compare as text only)
        return False


# ---- tracks: groups x split values, sampled cells, per-track totals ---------------------

@dataclass
class Tracks:
    """The tracks of one export (docs/spec.md section 5).

    ``keys[t]`` is the group name, or the ``(group, split)`` pair with
    ``split_by``; ``names[t]`` the text that goes into its file name;
    ``codes[i]`` the track of cell i (-1: none); ``n_cells[t]`` its cells.
    """

    keys: list
    names: list[str]
    codes: np.ndarray
    n_cells: np.ndarray

    def norm_by_totals(self, quantity: np.ndarray, cell_names) -> list[float]:
        """Q per track: the per-cell quantity summed over the track's cells
        (math.fsum: correctly rounded, so it depends on neither cell order nor chunking)."""
        used = self.codes >= 0
        bad = used & ~(np.isfinite(quantity) & (quantity >= 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"norm_by is {float(quantity[i])!r} for cell {cell_names[i]!r}: it must be a finite "
                             "number >= 0 for every exported cell")
        order = np.argsort(self.codes, kind="stable")
        bounds = np.searchsorted(self.codes[order], np.arange(len(self.keys) + 1), side="left")
        return [math.fsum(quantity[order[a:b]].tolist()) for a, b in zip(bounds[:-1], bounds[1:])]


def make_tracks(source, groupby, selections=None, split_by=None, max_cells=None, random_state=0) -> Tracks:
    labels = labels_of(source, groupby)
    groups, codes = group_codes(labels, selections)
    if split_by is None:
        keys: list = list(groups)
        names = list(groups)
    else:
        splits, split_codes = group_codes(labels_of(source, split_by, what="split_by"), None)
        pair = np.where((codes >= 0) & (split_codes >= 0), codes.astype(np.int64) * len(splits) + split_codes, -1)
        present = np.unique(pair[pair >= 0])  # group-major, then split order: the pairs that have cells
        keys = [(groups[p // len(splits)], splits[p % len(splits)]) for p in present.tolist()]
        names = [f"{g}_{s}" for g, s in keys]
        codes = np.full(len(pair), -1, dtype=np.int32)
        sel = pair >= 0
        codes[sel] = np.searchsorted(present, pair[sel]).astype(np.int32)
    if max_cells is not None:
        codes = _sample(codes, len(keys), max_cells, random_state)
    n_cells = np.bincount(codes[codes >= 0], minlength=len(keys)).astype(np.uint64)
    return Tracks(keys, names, codes, n_cells)


def _sample(codes: np.ndarray, n_tracks: int, max_cells: int, random_state: int) -> np.ndarray:
    """docs/spec.md section 5.7: a track with more than max_cells cells keeps
    cells[sort(default_rng(random_state).choice(len(cells), max_cells, replace=False))],
    with cells in observation order and a fresh generator for every track."""
    out = codes.copy()
    for t in range(n_tracks):
        cells = np.flatnonzero(codes == t)
        if len(cells) > max_cells:
            keep = cells[np.sort(np.random.default_rng(random_state).choice(len(cells), size=max_cells,
                                                                              replace=False))]
            out[cells] = -1
            out[keep] = t
    return out


def per_cell_quantity(source, norm_by) -> np.ndarray:
    """norm_by as one float64 per cell: an obs column, or one number per cell (a Series by its index)."""
    if isinstance(norm_by, str):
        values = obs_column(source, norm_by, "norm_by")
    elif isinstance(norm_by, pd.Series):
        values = _aligned(norm_by, source.obs().index, "norm_by")
    elif isinstance(norm_by, (np.ndarray, list, tuple, pd.Index)):
        values = pd.Series(np.asarray(norm_by, dtype=object))
        if len(values) != source.n_obs:
            raise ValueError(f"norm_by has {len(values)} values but the data has {source.n_obs} cells: give an obs "
                             "column name or one number per cell in observation order")
    else:
        raise TypeError(f"norm_by must be an obs column name or one number per cell, got {type(norm_by).__name__}")
    try:
        return pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="raise").to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"norm_by must hold numbers: {err}") from None
