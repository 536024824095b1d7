"""Which cells make which track: group labels per cell (docs/spec.md section 5), and the
barcode -> group tables of fragment-file input, read by one strict reader (section 10.1.2)."""
from __future__ import annotations

import gzip
import math
import os
import re
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd

from ._inputs import HDF5, regular_file

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


# ---- barcode -> group tables (fragment-file input, import_fragments' groups) -------------

HEADER_NAMES = ("barcode", "cell", "cell_id", "barcodes")  # a first field naming a header line (any case)
SAMPLE_COLUMNS = ("sample", "Sample")  # SnapATAC2 / pycisTopic, ArchR (docs/spec.md 13.6.2)
MAX_TABLE_LINE = 1 << 20  # a longer line is not a table line (a binary file)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _table_lines(where) -> Iterator[tuple[int, str]]:
    """(line number, text) of a groups table's lines that are neither comments nor blank: UTF-8 checked,
    its byte-order mark and line ends dropped, gzip read through."""
    with open(where, "rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    with (gzip.open(where, "rb") if gzipped else open(where, "rb")) as fh:
        n = 0
        while True:
            try:
                raw = fh.readline(MAX_TABLE_LINE + 1)
            except (OSError, EOFError) as err:  # a corrupt or truncated gzip file
                raise ValueError(f"{where}: line {n + 1}: cannot be read ({err})") from None
            if not raw:
                break
            n += 1
            if len(raw) > MAX_TABLE_LINE and not raw.endswith(b"\n"):
                raise ValueError(f"{where}: line {n} is longer than {MAX_TABLE_LINE >> 20} MiB: this is not a "
                                 "barcode<TAB>group table")
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]  # a UTF-8 byte-order mark (spreadsheet exports)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ValueError(f"{where}: line {n}: byte 0x{raw[err.start]:02x} at column {err.start + 1} is not "
                                 "UTF-8 text; save the table as UTF-8 (or it is not a text file)") from None
            line = line[:-1] if line.endswith("\n") else line
            line = line[:-1] if line.endswith("\r") else line
            if not (line.startswith("#") or not line.strip()):
                yield n, line


def _fields_of(line: str, n: int, where) -> list[str]:
    """A line's tab-separated fields; a control character in one is an error."""
    fields = line.split("\t")
    for k, field in enumerate(fields):
        bad = _CONTROL.search(field)
        if bad:
            raise ValueError(f"{where}: line {n}: column {k + 1} ({field!r}) holds the control character "
                             f"{bad.group()!r}; barcodes, groups and values are text without control "
                             "characters")
    return fields


def _header_names(fields: list[str], n: int, where) -> list[str] | None:
    """The column names of a header line (first field barcode, cell, ...); None for a data line."""
    if fields[0].lower() not in HEADER_NAMES:
        return None
    empty = next((k for k, x in enumerate(fields) if not x), None)
    if empty is not None:
        raise ValueError(f"{where}: line {n}: the header names no column {empty + 1}")
    dup = next((x for x in fields if fields.count(x) > 1), None)
    if dup is not None:
        raise ValueError(f"{where}: line {n}: the header names column {dup!r} twice")
    return fields


def read_groups_table(path) -> pd.DataFrame:
    """A ``barcode<TAB>group[<TAB>more columns]`` file as a table indexed by barcode, read by our
    own strict rules (docs/spec.md 10.1.2), not by CSV's: fields are split on tabs only and a ``"``
    is an ordinary character. Lines starting with ``#`` are comments (a ``#`` inside a line is
    text: ArchR's ``sample#barcode``), blank lines are skipped, a UTF-8 byte-order mark and a
    trailing CR are dropped, the file may be gzip-compressed. With a header line (first field
    barcode, cell, cell_id or barcodes) the columns keep its names; without one the second is
    ``group`` and further ones are named by their 1-based number (``3``, ``4``, ...). Empty fields
    are missing values. Every problem is a ValueError naming the file and the line: text that is
    not UTF-8, a control character in a field (NUL, CR, escape, ...), a line with another number of
    fields than the first, fewer than two columns, an empty barcode, a barcode listed twice (per
    sample, when a ``sample`` column names the samples), a file that is empty or HDF5. A folder,
    a pipe or a device is refused too: the table is read before the fragments, sometimes twice."""
    f = regular_file(path, "groups table")
    where = f.path
    if f.kind == HDF5:
        raise ValueError(f"groups table '{where}' is an HDF5 (.h5ad) file, not a barcode<TAB>group table")
    rows: list[list[str]] = []
    lines: list[int] = []
    names: list[str] | None = None
    width = 0
    first_line = 0
    for n, line in _table_lines(where):
        fields = _fields_of(line, n, where)
        if not width:
            width, first_line = len(fields), n
            if width < 2:
                raise ValueError(f"{where}: line {n}: a groups table needs at least two tab-separated "
                                 f"columns, barcode and group: {line!r}")
            names = _header_names(fields, n, where)
            if names is not None:
                continue
        if len(fields) != width:
            raise ValueError(f"{where}: line {n}: {len(fields)} tab-separated field(s), but line {first_line} "
                             f"has {width}; every line of the table needs the same columns: {line!r}")
        if not fields[0]:
            raise ValueError(f"{where}: line {n}: the barcode (column 1) is empty: {line!r}")
        rows.append(fields)
        lines.append(n)
    if not width:
        raise ValueError(f"groups table '{where}' is empty (no line that is not a comment)")
    if names is None:
        names = ["barcode", "group"] + [str(i + 1) for i in range(2, width)]
    columns = {name: [r[k] or None for r in rows] for k, name in enumerate(names[1:], 1)}
    barcodes = [r[0] for r in rows]
    _check_unique_rows(barcodes, columns, lines, where)
    table = pd.DataFrame(columns, index=pd.Index(barcodes, dtype=object), dtype=object)
    table.index.name = names[0]
    return table


def _check_unique_rows(barcodes: list[str], columns: dict, lines: list[int], where: str) -> None:
    """A barcode listed twice is an error naming both lines; with a sample column, per sample
    (the same barcode in two samples is two cells, docs/spec.md 13.6.2)."""
    sample = next((columns[c] for c in SAMPLE_COLUMNS if c in columns), None)
    keys = barcodes if sample is None else list(zip(sample, barcodes))
    seen: dict = {}
    for key, line in zip(keys, lines):
        first = seen.setdefault(key, line)
        if first != line:
            cell = repr(key) if sample is None else f"{key[1]!r} of sample {key[0]!r}"
            raise ValueError(f"{where}: line {line}: barcode {cell} is listed again (first on line {first}); a "
                             "cell has one row")


def barcode_table(groupby) -> tuple[pd.DataFrame, str]:
    """(table indexed by barcode, name of its group column) from a dict ``{barcode: group}``, a
    Series indexed by barcode or a table path (read_groups_table). Barcodes must be strings without
    control characters and appear once (per sample with a sample column); rows without a group
    (None, NaN or empty) are left out (docs/spec.md 13.2)."""
    if isinstance(groupby, (str, os.PathLike)):
        table = read_groups_table(groupby)
        column = table.columns[0]
    elif isinstance(groupby, (pd.Series, dict)):
        labels = groupby if isinstance(groupby, pd.Series) else \
            pd.Series(list(groupby.values()), index=pd.Index(list(groupby.keys()), dtype=object), dtype=object)
        column = "group"
        table = pd.DataFrame({column: labels})
        bad = next((b for b in table.index if not isinstance(b, str)), None)
        if bad is not None:
            raise TypeError(f"barcodes must be strings, got {bad!r} ({type(bad).__name__})")
        bad = next((b for b in table.index if not b or _CONTROL.search(b)), None)
        if bad is not None:
            raise ValueError(f"barcode {bad!r} of groupby is empty or holds a control character")
        dup = table.index[table.index.duplicated()]
        if len(dup):
            raise ValueError(f"barcode {dup[0]!r} has more than one group in groupby")
    else:
        raise TypeError(
            "with a fragment file, groupby must map barcodes to groups: a dict {barcode: group}, a pandas "
            f"Series indexed by barcode, or the path of a barcode<TAB>group table; got {type(groupby).__name__}")
    group = table[column]
    present = group.notna().to_numpy() & (group.astype(object).map(lambda v: not isinstance(v, str) or v != "")
                                           .to_numpy(dtype=bool))
    return table[present], column


def by_barcode(values, keys: pd.Index, names: pd.Index, what: str) -> np.ndarray:
    """``split_by`` / ``norm_by`` given as a dict or Series indexed by barcode, for fragment-file input
    (docs/spec.md 13.2): one value per cell, looked up by the cell's key in the groups table (its
    barcode as written there), else by the cell's name (``sample#barcode``); missing: None."""
    if isinstance(values, dict):
        values = pd.Series(list(values.values()), index=pd.Index(list(values.keys()), dtype=object), dtype=object)
    if values.index.has_duplicates:
        dup = values.index[values.index.duplicated()][0]
        raise ValueError(f"{what} is indexed by barcode, but its index lists {dup!r} twice")
    lookup = dict(zip(values.index, values.astype(object)))
    missing = object()
    out = np.empty(len(keys), dtype=object)
    for i, (key, name) in enumerate(zip(keys, names)):
        v = lookup.get(key, missing)
        if v is missing:
            v = lookup.get(name, None)
        out[i] = v
    if len(keys) and all(v is None for v in out) and len(values):
        raise ValueError(f"none of the cells' barcodes is in the index of {what} (e.g. cell {str(keys[0])!r}; "
                         f"{what}: {str(values.index[0])!r}): index it by the groups table's barcodes")
    return out
