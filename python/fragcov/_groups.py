"""Which cells make which track: group labels per cell (docs/spec.md section 5)."""
from __future__ import annotations

import numpy as np
import pandas as pd

_LABEL_SEQUENCES = (pd.Index, np.ndarray, list, tuple, pd.Categorical)


def labels_of(source, groupby) -> pd.Series:
    """One label per cell of ``source``, in its cell order (missing: NA)."""
    if isinstance(groupby, str):
        obs = source.obs()
        if groupby not in obs.columns:
            raise ValueError(
                f"groupby={groupby!r} is not a column of adata.obs; available columns: "
                f"{', '.join(map(str, obs.columns)) or '(none)'}"
            )
        return pd.Series(obs[groupby].values)
    if isinstance(groupby, pd.Series):
        return _aligned(groupby, source.obs().index, "groupby")
    if isinstance(groupby, _LABEL_SEQUENCES):
        if isinstance(groupby, (list, tuple)) and groupby and all(isinstance(g, str) for g in groupby) \
                and len(groupby) != source.n_obs and set(groupby) <= set(map(str, source.obs().columns)):
            raise ValueError(
                f"groupby={list(groupby)!r} names obs column(s), not one label per cell: to group by a column, "
                f"pass its name as a string (groupby={groupby[0]!r})")
        values = pd.Series(groupby) if isinstance(groupby, pd.Categorical) \
            else pd.Series(np.asarray(groupby, dtype=object))
        if len(values) != source.n_obs:
            hint = ""
            if len(values) and all(isinstance(v, str) for v in values[:5]):
                hint = " To group by a column of adata.obs, pass its name as a string, e.g. groupby='cell_type'."
            raise ValueError(
                f"groupby has {len(values)} labels but the data has {source.n_obs} cells: give one label per cell "
                f"in observation order.{hint}"
            )
        return values
    raise TypeError(f"groupby must be an obs column name or one label per cell, got {type(groupby).__name__}")


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
