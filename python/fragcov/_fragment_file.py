"""A 10x fragment file read as a fragcov Source, without building an AnnData.

Gives exactly the cells and fragments that ``import_fragments`` would store
(same chromosome order, zero-length and unknown-chromosome lines dropped, the
same ``min_num_fragments`` rule), so exporting from the file equals import +
export. The file is read twice, block by block: once to count fragments per
barcode, once to stream them; memory does not grow with the file.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._genomes import resolve_chrom_sizes
from ._import import _iter_blocks, _parse_fast, _parse_slow, _first_data_line
from ._sources import PAIRED, SINGLE, Chunk, Source, _as_chunk_arrays


def read_groups_table(path) -> dict[str, str]:
    """barcode<TAB>group file (a header line 'barcode<TAB>...' is skipped) -> {barcode: group}."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"groups table not found: '{path}'")
    table = pd.read_csv(path, sep="\t", header=None, dtype=str, comment="#", usecols=[0, 1],
                        keep_default_na=False)
    if len(table) and table.iloc[0, 0].lower() in ("barcode", "cell", "cell_id", "barcodes"):
        table = table.iloc[1:]
    return dict(zip(table[0], table[1]))


class FragmentFileSource(Source):
    """Cells of a fragment file that have a group in `groups` (obs column 'group')."""

    def __init__(self, path, chrom_sizes, groups: dict[str, str], *, is_paired=True,
                 min_num_fragments=200, chrM=("chrM", "M")):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"fragment file not found: '{self.path}'")
        chroms = sorted(resolve_chrom_sizes(chrom_sizes), key=lambda x: x[0].encode("utf-8"))  # as import does
        self.names = [c for c, _ in chroms]
        self.lengths = np.array([n for _, n in chroms], dtype=np.uint64)
        self._offsets = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        self._index = {c: i for i, c in enumerate(self.names)}
        mito = {chrM} if isinstance(chrM, str) else set(chrM or ())
        self._mito = np.array([c in mito for c in self.names])
        self.is_paired = bool(is_paired)
        first = _first_data_line(self.path)
        self._ncols = len(first.split("\t")) if first is not None else 5
        self.kind = PAIRED if self.is_paired else SINGLE

        # pass 1: fragments per barcode, as import_fragments counts them (n_fragment)
        counts: dict[str, int] = {}
        for block in self._blocks():
            keep = block["keep"] & ~self._mito[np.maximum(block["chrom"], 0)]
            per = np.bincount(block["bc"][keep], minlength=len(block["bc_cats"]))
            for bc, n in zip(block["bc_cats"], per.tolist()):
                counts[bc] = counts.get(bc, 0) + n
        cells = [bc for bc, n in counts.items() if n >= min_num_fragments and bc in groups]
        self._row_of = {bc: i for i, bc in enumerate(cells)}
        self._obs = pd.DataFrame({"group": [groups[bc] for bc in cells]}, index=pd.Index(cells, name=None))
        self.n_obs = len(cells)
        self._n_fragments = sum(counts[bc] for bc in cells)

    def _blocks(self):
        for first_line, raw in _iter_blocks(self.path):
            b = _parse_fast(self.path, first_line, raw, self.is_paired, self._ncols)
            if b is None:
                b = _parse_slow(self.path, first_line, raw, self.is_paired)
            if len(b.start) == 0:
                continue
            lut = np.array([self._index.get(c, -1) for c in b.chrom_cats], dtype=np.int64)
            chrom = lut[b.chrom_codes] if len(lut) else np.full(len(b.start), -1)
            keep = (chrom >= 0) & (b.end > b.start)
            yield {"chrom": chrom, "keep": keep, "start": b.start, "end": b.end, "bc": b.bc_codes,
                   "bc_cats": b.bc_cats, "strand": b.strand}

    def obs(self):
        return self._obs

    def n_fragments(self):
        return self._n_fragments

    def chunks(self):
        for block in self._blocks():
            rows_lut = np.array([self._row_of.get(bc, -1) for bc in block["bc_cats"]], dtype=np.int64)
            row = rows_lut[block["bc"]]
            keep = block["keep"] & (row >= 0)
            if not keep.any():
                continue
            row, chrom = row[keep], block["chrom"][keep]
            start, end = block["start"][keep], block["end"][keep]
            length = end - start
            if self.is_paired:
                col, val = self._offsets[chrom] + start, length
            else:
                fwd = block["strand"][keep] > 0
                col = self._offsets[chrom] + np.where(fwd, start, end - 1)
                val = np.where(fwd, length, -length)
            order = np.argsort(row, kind="stable")
            row = row[order]
            cells, first = np.unique(row, return_index=True)
            indptr = np.append(first, len(row))
            yield Chunk(*_as_chunk_arrays(indptr, col[order], val[order], self.kind), cells)
