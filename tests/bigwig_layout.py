"""A small bbi (bigWig v4) parser for the tests: header, R-tree leaves and the
section in each data block, written from UCSC's format description (bbiFile.h,
bwgInternal.h) independently of fragcov's writer.

Every data block holds one section: a 24-byte header (chromId, start, end,
itemStep, itemSpan, type, reserved, itemCount) and then its items:
bedGraph (type 1) start, end, value; varStep (2) start, value, each item
``itemSpan`` bases; fixedStep (3) value, item i at ``start + i * itemStep``.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

import numpy as np
from pathlib import Path

BIGWIG_MAGIC = 0x888FFC26
RTREE_MAGIC = 0x2468ACE0
TYPE_NAMES = {1: "bedGraph", 2: "varStep", 3: "fixedStep"}


@dataclass
class Section:
    chrom: int
    start: int
    end: int
    step: int
    span: int
    type: int
    index_start: int  # the block's R-tree leaf entry
    index_end: int
    raw_size: int
    starts: np.ndarray = field(repr=False)
    ends: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)

    @property
    def type_name(self) -> str:
        return TYPE_NAMES[self.type]


@dataclass
class Layout:
    zoom_levels: int
    uncompress_buf_size: int
    section_count: int  # the count stored before the data
    sections: list[Section]


def read_layout(path) -> Layout:
    raw = Path(path).read_bytes()
    magic, version, zoom_levels, chrom_tree, data, index = struct.unpack_from("<IHHQQQ", raw, 0)
    assert magic == BIGWIG_MAGIC and version == 4
    buf_size = struct.unpack_from("<I", raw, 52)[0]
    section_count = struct.unpack_from("<Q", raw, data)[0]
    assert struct.unpack_from("<I", raw, index)[0] == RTREE_MAGIC
    leaves = []

    def walk(offset):
        is_leaf, _, count = struct.unpack_from("<BBH", raw, offset)
        for i in range(count):
            if is_leaf:
                leaves.append(struct.unpack_from("<IIIIQQ", raw, offset + 4 + 32 * i))
            else:
                walk(struct.unpack_from("<Q", raw, offset + 4 + 24 * i + 16)[0])

    walk(index + 48)
    sections = []
    for start_chrom, start, end_chrom, end, offset, size in leaves:
        assert start_chrom == end_chrom, "a block spans two chromosomes"
        block = zlib.decompress(raw[offset:offset + size])
        chrom, s, e, step, span, kind, _, n = struct.unpack_from("<IIIIIBBH", block, 0)
        assert chrom == start_chrom
        body = block[24:]
        if kind == 1:
            items = np.frombuffer(body, dtype=[("s", "<u4"), ("e", "<u4"), ("v", "<f4")], count=n)
            starts, ends, values = items["s"].astype(np.int64), items["e"].astype(np.int64), items["v"]
        elif kind == 2:
            items = np.frombuffer(body, dtype=[("s", "<u4"), ("v", "<f4")], count=n)
            starts = items["s"].astype(np.int64)
            ends, values = starts + span, items["v"]
        elif kind == 3:
            values = np.frombuffer(body, dtype="<f4", count=n)
            starts = s + step * np.arange(n, dtype=np.int64)
            ends = starts + span
        else:
            raise AssertionError(f"unknown section type {kind}")
        assert len(body) == n * {1: 12, 2: 8, 3: 4}[kind], "bytes after the section's items"
        sections.append(Section(chrom, s, e, step, span, kind, start, end, len(block),
                                starts, ends, np.asarray(values, dtype=np.float32)))
    return Layout(zoom_levels, buf_size, section_count, sections)
