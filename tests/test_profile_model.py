"""The profile model (tests/model.py ``profile_matrices``, docs/spec.md section 16) against
hand-worked values: before the model judges fragcov.profile, it is judged by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

import model

CHROM_SIZES = [("chr1", 100), ("chr2", 50), ("chr3", 10_000)]
# group A: chr1 [10, 30), chr1 [20, 25), chr2 [0, 5); group B: chr1 [50, 60)
FRAGS = dict(chrom=["chr1", "chr1", "chr2", "chr1"], start=[10, 20, 0, 50], end=[30, 25, 5, 60],
             group=["A", "A", "A", "B"])
ANCHORS = [("chr1", 20, 21, "+"), ("chr1", 20, 21, "-"), ("chr2", 2, 3, "+")]
NAN = float("nan")


def matrices(**kw):
    kw = {"upstream": 10, "downstream": 10, "bin_size": 5, "normalization": None, **kw}
    out = model.profile_matrices(CHROM_SIZES, FRAGS["chrom"], FRAGS["start"], FRAGS["end"], FRAGS["group"],
                                 anchors=ANCHORS, **kw)
    return {g: m for g, (m, _) in out.items()}


def same(a, b):
    np.testing.assert_array_equal(np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32))


@pytest.mark.parametrize("point, strand, expected", [
    ("center", "+", 15), ("center", "-", 15), ("start", "+", 10), ("start", ".", 10), ("start", "-", 19),
    ("end", "+", 19), ("end", "-", 10)])
def test_anchor_base(point, strand, expected):
    assert model.anchor_base(10, 20, strand, point) == expected  # spec 16.3
    assert model.anchor_base(10, 11, strand, point) == 10  # one base: every point is that base


def test_insertions_by_hand():
    m = matrices()
    # insertions of A: chr1 10, 29, 20, 24; chr2 0, 4; a bin is the mean over its 5 bases
    same(m["A"][0], [0.2, 0, 0.4, 0.2])  # +: bases 10-14, 15-19, 20-24, 25-29
    same(m["A"][1], [0.2, 0.2, 0.2, 0])  # -: bases 30..26, 25..21, 20..16, 15..11
    same(m["A"][2], [NAN, NAN, 0.2, 0])  # chr2 base 2: the first two bins leave the chromosome
    same(m["B"], [[0, 0, 0, 0], [0, 0, 0, 0], [NAN, NAN, 0, 0]])
    assert m["A"].dtype == np.float32


def test_fragments_and_cpm_by_hand():
    m = matrices(counting_strategy="fragment")
    same(m["A"][0], [1, 1, 2, 1])
    same(m["A"][1], [0.8, 1.8, 1.2, 1.0])
    m = matrices(normalization="CPM", scale_factor=2.0)  # N = 6 insertions
    one, two = np.float32(1 / (5 * (6 / 1e6)) * 2), np.float32(2 / (5 * (6 / 1e6)) * 2)
    same(m["A"][0], [one, 0, two, one])
    m = matrices(normalization="CPM", blacklist=["chr1:29-30"])  # N = 5 and no insertion at 29
    same(m["A"][0], [np.float32(1 / (5 * (5 / 1e6))), 0, np.float32(2 / (5 * (5 / 1e6))), 0])


def test_tss_enrichment_by_hand():
    # chr3: anchor base 5000; insertions (1-bp fragments give two units on one base) at the
    # centre's edges and just outside, and at the flanks' edges and just outside
    centre = [5000, 5000, 5000, 4950, 5050, 4949, 5051]
    flanks = [3000, 3099, 3100, 7000, 6901, 6900]
    starts = centre + flanks
    frags = dict(chrom=["chr3"] * len(starts), start=starts, end=[s + 1 for s in starts], group=["A"] * len(starts))
    anchors = [("chr3", 5000, 5001, "+"), ("chr3", 4999, 5002, "-"), ("chr3", 1999, 2000, "+")]
    out = model.profile_matrices(CHROM_SIZES, frags["chrom"], frags["start"], frags["end"], frags["group"],
                                 anchors=anchors, upstream=100, downstream=100, bin_size=10)
    # C: 5000 x3, 4950, 5050, each twice (two units per 1-bp fragment) = 10; F: 3000, 3099, 7000, 6901 = 8.
    # The second anchor is the same base (counted once), the third's window starts before the chromosome.
    assert out["A"][1] == pytest.approx((10 / 101) / (8 / 200))
    out = model.profile_matrices(CHROM_SIZES, [], [], [], [], anchors=anchors, groups=["A"], upstream=100,
                                 downstream=100, bin_size=10)
    assert math.isnan(out["A"][1])  # no flank count
    same(out["A"][0][0], np.zeros(20))  # no unit: zeros (denominator 0)
