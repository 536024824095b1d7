#!/usr/bin/env python3
"""Do two folders of bigWigs describe the same signal? (docs/spec.md section 4.7.7)

    python benchmarks/compare_bigwigs.py DIR_A DIR_B

For every .bw file name in both folders: the same chromosome list, and per
chromosome the same records once touching items of equal value are merged
(fixedStep/varStep sections split a record into items; the signal is what must
not change). Prints one line per file and exits 1 on any difference.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import pyBigWig


def records(bw, chrom):
    iv = bw.intervals(chrom) or ()
    if not iv:
        return np.zeros((0, 3))
    a = np.asarray(iv, dtype=np.float64)
    v = a[:, 2].astype(np.float32)
    joins = np.r_[False, (a[1:, 0] == a[:-1, 1]) & (v[1:] == v[:-1])]
    first = np.flatnonzero(~joins)
    last = np.r_[first[1:], len(a)] - 1
    return np.c_[a[first, 0], a[last, 1], v[first]]


def main(a_dir, b_dir) -> int:
    bad = 0
    names = sorted(set(f for f in os.listdir(a_dir) if f.endswith(".bw")) & set(os.listdir(b_dir)))
    for name in names:
        a, b = pyBigWig.open(os.path.join(a_dir, name)), pyBigWig.open(os.path.join(b_dir, name))
        same = a.chroms() == b.chroms()
        n = 0
        for chrom in a.chroms():
            ra, rb = records(a, chrom), records(b, chrom)
            n += len(ra)
            same = same and ra.shape == rb.shape and np.array_equal(ra, rb)
        sa, sb = os.path.getsize(os.path.join(a_dir, name)), os.path.getsize(os.path.join(b_dir, name))
        verdict = "same signal" if same else "DIFFERENT"
        print(f"{name}: {verdict} ({n:,} records; {sa / 1e6:.1f} MB vs {sb / 1e6:.1f} MB)")
        bad += not same
    print(f"{len(names)} files compared, {bad} different")
    return 1 if bad or not names else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
