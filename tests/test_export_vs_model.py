"""fragcov.export_coverage against the reference model (tests/model.py) and
against SnapATAC2 2.9.0's fixture tracks (tests/data).

Expected values come only from the model or from the fixtures, never from
fragcov itself.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import model
from helpers import (EMPTY_GROUP_WARNING, FIXTURE_CASES, PARTIAL_BIN_CASES,
                     SINGLE_END_LENGTH_WARNING, Records, assert_track_matches, compare_records,
                     dataset_anndata, expect_warnings, fixture_case_id, fixture_options,
                     fixture_track_path, float32_ulps, load_dataset, make_anndata,
                     model_for_case, read_bedgraph, read_bigwig, read_track, rescaled_ulps,
                     snapatac2_partial_bin_to_spec, written_record_problems)

fragcov = pytest.importorskip("fragcov")

# ---------------------------------------------------------------------------
# Random data the implementation has never seen
# ---------------------------------------------------------------------------

CHROM_SIZES = [("chr1", 300_007), ("chr2", 120_000), ("chrS", 53), ("chr3", 80_001),
               ("chrE", 1_000)]
NAMES = [c for c, _ in CHROM_SIZES]
# cell labels: 0-14 A, 15-27 B, 28-36 T/NK, 37-38 "empty" (no fragments), 39 missing
CELL_LABELS = ["A"] * 15 + ["B"] * 13 + ["T/NK"] * 9 + ["empty"] * 2 + [None]
GROUPS = ["A", "B", "T/NK", "empty"]
FRAG_CELLS = np.array([i for i, g in enumerate(CELL_LABELS) if g != "empty"])


def random_fragments(seed=20240611, n=25_000):
    rng = np.random.default_rng(seed)
    lengths = np.array([L for _, L in CHROM_SIZES])
    big = np.array([0, 1, 3])
    chrom = rng.choice(big, size=n, p=lengths[big] / lengths[big].sum())
    L = lengths[chrom]
    # peaks (shared + a few per chromosome) on a uniform background
    centers = {c: rng.integers(0, lengths[c], size=25) for c in big}
    in_peak = rng.random(n) < 0.6
    pk = np.array([centers[c][rng.integers(0, 25)] for c in chrom])
    start = np.where(in_peak, pk + rng.normal(0, 150, n).astype(np.int64),
                     rng.integers(0, L))
    # nucleosomal length mixture with a long tail
    kind = rng.choice(5, size=n, p=[0.3, 0.4, 0.2, 0.07, 0.03])
    flen = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3],
        [rng.normal(60, 15, n), rng.normal(200, 30, n), rng.normal(390, 40, n),
         rng.uniform(400, 1500, n)], rng.uniform(1500, 4000, n)).astype(np.int64)
    flen = np.maximum(flen, 1)
    start = np.clip(start, 0, L - 1)
    # fragments running past the chromosome end
    m = 150
    ce = rng.choice([0, 1, 3], size=m)
    se = lengths[ce] - rng.integers(1, 80, size=m)
    le = rng.integers(1, 400, size=m)
    # the tiny chromosome chrS (53 bp): most fragments run past its end
    ms = 80
    cs = np.full(ms, 2)
    ss = rng.integers(0, 53, size=ms)
    ls = rng.integers(1, 120, size=ms)
    chrom = np.concatenate([chrom, ce, cs])
    start = np.concatenate([start, se, ss])
    flen = np.concatenate([flen, le, ls])
    cell = rng.choice(FRAG_CELLS, size=len(chrom))
    # repeated columns in a row: exact duplicates and same start / other length
    d = rng.integers(0, len(chrom), size=300)
    d2 = rng.integers(0, len(chrom), size=200)
    chrom = np.concatenate([chrom, chrom[d], chrom[d2]])
    start = np.concatenate([start, start[d], start[d2]])
    cell = np.concatenate([cell, cell[d], cell[d2]])
    flen = np.concatenate([flen, flen[d], np.maximum(flen[d2] + rng.integers(-50, 50, 200), 1)])
    return chrom.astype(np.int64), start.astype(np.int64), (start + flen).astype(np.int64), cell


def random_single_end(seed=77, n=8_000):
    rng = np.random.default_rng(seed)
    lengths = np.array([L for _, L in CHROM_SIZES])
    chrom = rng.choice([0, 1, 2, 3], size=n, p=[0.5, 0.3, 0.01, 0.19])
    L = lengths[chrom]
    rlen = rng.integers(20, 150, size=n)
    start = rng.integers(0, L)
    end = start + rlen
    # reverse reads need end-1 inside the chromosome (their column is end-1)
    strand = np.where(rng.random(n) < 0.5, "+", "-")
    rev = strand == "-"
    end[rev] = np.minimum(end[rev], L[rev])
    start[rev] = np.maximum(end[rev] - rlen[rev], 0)
    cell = rng.choice(FRAG_CELLS, size=n)
    return chrom, start, end, strand, cell


@pytest.fixture(scope="module")
def rnd():
    chrom, start, end, cell = random_fragments()
    obs = pd.DataFrame({"cell_type": pd.Categorical(CELL_LABELS, categories=GROUPS)},
                       index=[f"cell{i}" for i in range(len(CELL_LABELS))])
    adata = make_anndata(CHROM_SIZES, chrom, start, end, cell, len(CELL_LABELS), obs=obs)
    labels = np.array([CELL_LABELS[c] for c in cell], dtype=object)
    return dict(adata=adata, chrom=chrom, start=start, end=end, label=labels)


@pytest.fixture(scope="module")
def rnd_single():
    chrom, start, end, strand, cell = random_single_end()
    obs = pd.DataFrame({"cell_type": pd.Categorical(CELL_LABELS, categories=GROUPS)},
                       index=[f"cell{i}" for i in range(len(CELL_LABELS))])
    adata = make_anndata(CHROM_SIZES, chrom, start, end, cell, len(CELL_LABELS), obs=obs,
                         strand=strand)
    labels = np.array([CELL_LABELS[c] for c in cell], dtype=object)
    return dict(adata=adata, chrom=chrom, start=start, end=end, strand=strand, label=labels)


BL = ["chr1:1,000-5,000", "chr2:50000-50100", "chrS:10-11", "chr3:79,990-80,001"]
INC = ["chr1:0-150,000", "chr3:1-80001", "chrS:0-53"]
EXC = ["chr1:100,000-120,000", "chr3:40,000-40,001"]


@pytest.fixture(scope="module")
def region_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("regions")
    out = {}
    for name, regs in (("blacklist", BL), ("include", INC), ("exclude", EXC)):
        p = d / f"{name}.bed"
        lines = []
        for r in regs:
            c, rest = r.split(":")
            s, e = rest.replace(",", "").split("-")
            lines.append(f"{c}\t{s}\t{e}\tname_{len(lines)}\n")
        p.write_text("".join(lines))
        out[name] = str(p)
    return out


def _resolve(opts, region_files):
    """'@blacklist' etc. stand for the BED files of the region_files fixture."""
    o = dict(opts)
    for k, v in o.items():
        if isinstance(v, str) and v.startswith("@"):
            o[k] = region_files[v[1:]]
    return o


def model_tracks(data, opts, groups=GROUPS):
    kw = dict(bin_size=10, normalization="RPKM", max_frag_length=2000)
    kw.update(opts)
    return model.coverage_tracks(CHROM_SIZES, data["chrom"], data["start"], data["end"],
                                 data["label"], data.get("strand"), groups=groups,
                                 as_list=False, **kw)


def run_export(adata, out_dir, **kw):
    kw.setdefault("n_jobs", 2)
    return fragcov.export_coverage(adata, "cell_type", out_dir=str(out_dir), **kw)


def check_against_model(paths, expected, label):
    assert set(paths) == set(expected), f"{label}: exported groups {sorted(paths)}"
    errors = []
    for g, exp in expected.items():
        got = read_track(paths[g], NAMES)
        msg = (written_record_problems(got, NAMES, label=f"{label}/{g}")
               or compare_records(got, exp, label=f"{label}/{g}"))
        if msg:
            errors.append(msg)
    assert not errors, "\n".join(errors)


# ---------------------------------------------------------------------------
# Track contents vs the model (docs/spec.md section 3)
# ---------------------------------------------------------------------------

CONFIGS = {
    # bin sizes x normalizations, fragment counting
    "bin1_raw": dict(bin_size=1, normalization=None),
    "bin7_cpm": dict(bin_size=7, normalization="CPM"),
    "bin10_rpkm_default": dict(),
    "bin20_bpm": dict(bin_size=20, normalization="BPM"),
    "bin1_rpkm": dict(bin_size=1, normalization="RPKM"),
    "bin20_raw": dict(bin_size=20, normalization=None),
    # length filters
    "len_none": dict(bin_size=7, normalization="CPM", max_frag_length=None),
    "len_min_only": dict(bin_size=1, normalization="BPM", min_frag_length=100,
                         max_frag_length=None),
    "len_max_only": dict(normalization=None, max_frag_length=300),
    "len_both": dict(bin_size=10, normalization="CPM", min_frag_length=100, max_frag_length=300),
    "len_both_equal": dict(bin_size=1, normalization=None, min_frag_length=200,
                           max_frag_length=200),
    # insertion counting
    "ins_bin1_raw": dict(counting_strategy="insertion", bin_size=1, normalization=None),
    "ins_bin7_cpm": dict(counting_strategy="insertion", bin_size=7, normalization="CPM"),
    "ins_bin10_rpkm": dict(counting_strategy="insertion"),
    "ins_bin20_bpm_len": dict(counting_strategy="insertion", bin_size=20, normalization="BPM",
                              min_frag_length=50, max_frag_length=1000),
    # smoothing: odd/even windows, bin_size 1 and > 1
    "smooth1_bin1_raw": dict(bin_size=1, normalization=None, smooth_base=1),
    "smooth2_bin1_raw": dict(bin_size=1, normalization=None, smooth_base=2),
    "smooth4_bin10_cpm": dict(bin_size=10, normalization="CPM", smooth_base=4),
    "smooth51_bin20_raw": dict(bin_size=20, normalization=None, smooth_base=51),
    "smooth51_bin1_rpkm": dict(bin_size=1, normalization="RPKM", smooth_base=51),
    "smooth2_bin7_bpm_ins": dict(bin_size=7, normalization="BPM", smooth_base=2,
                                 counting_strategy="insertion"),
    "smooth4_bin1_cpm_ins": dict(bin_size=1, normalization="CPM", smooth_base=4,
                                 counting_strategy="insertion"),
    "smooth1_bin7_raw": dict(bin_size=7, normalization=None, smooth_base=1),
    # bins and windows wider than the 53-bp chromosome chrS
    "bin100_smooth151_bpm": dict(bin_size=100, normalization="BPM", smooth_base=151),
    "bin1000_rpkm": dict(bin_size=1000, normalization="RPKM"),
    # blacklist / include / exclude, as strings (with commas) and as BED files
    "bl_str_cpm": dict(normalization="CPM", blacklist=BL),
    "bl_bed_ins_bpm_bin1": dict(normalization="BPM", bin_size=1, counting_strategy="insertion",
                                blacklist="@blacklist"),
    "norm_str_cpm": dict(normalization="CPM", include_for_norm=INC, exclude_for_norm=EXC),
    "norm_bed_rpkm_bin7": dict(bin_size=7, include_for_norm="@include",
                               exclude_for_norm="@exclude"),
    "incl_only_ins_cpm": dict(normalization="CPM", counting_strategy="insertion",
                              include_for_norm=INC),
    "excl_only_bed_cpm": dict(normalization="CPM", exclude_for_norm="@exclude"),
    "all_regions_bed_ins_cpm": dict(bin_size=1, normalization="CPM", counting_strategy="insertion",
                                    blacklist="@blacklist", include_for_norm="@include",
                                    exclude_for_norm="@exclude"),
    "all_regions_str_bpm_smooth": dict(bin_size=10, normalization="BPM", blacklist=BL,
                                       include_for_norm=INC, exclude_for_norm=EXC,
                                       smooth_base=4, min_frag_length=30),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_paired_end_matches_model(name, rnd, region_files, tmp_path):
    opts = _resolve(CONFIGS[name], region_files)
    with expect_warnings(EMPTY_GROUP_WARNING.format("empty")):
        paths = run_export(rnd["adata"], tmp_path, suffix=".bedgraph", **opts)
    check_against_model(paths, model_tracks(rnd, opts), name)


SINGLE_CONFIGS = {
    "se_frag_bin1_raw": dict(bin_size=1, normalization=None),
    "se_ins_bin1_raw": dict(bin_size=1, normalization=None, counting_strategy="insertion"),
    "se_frag_bin10_cpm_maxlen50": dict(normalization="CPM", max_frag_length=50),
    "se_ins_bin7_rpkm_min100": dict(bin_size=7, counting_strategy="insertion",
                                    min_frag_length=100),
    "se_frag_bin20_bpm_smooth51": dict(bin_size=20, normalization="BPM", smooth_base=51),
    "se_ins_bin1_cpm_regions": dict(bin_size=1, normalization="CPM",
                                    counting_strategy="insertion", blacklist="@blacklist",
                                    include_for_norm=INC, exclude_for_norm=EXC),
}


@pytest.mark.parametrize("name", list(SINGLE_CONFIGS))
def test_single_end_matches_model(name, rnd_single, region_files, tmp_path):
    opts = _resolve(SINGLE_CONFIGS[name], region_files)
    messages = [EMPTY_GROUP_WARNING.format("empty")]
    if "min_frag_length" in opts or "max_frag_length" in opts:  # bounds given: warned, ignored
        messages.append(SINGLE_END_LENGTH_WARNING)
    with expect_warnings(*messages):
        paths = run_export(rnd_single["adata"], tmp_path, suffix=".bedgraph.gz", **opts)
    check_against_model(paths, model_tracks(rnd_single, opts), name)


TINY_CS = [("z9", 1), ("a1", 2_003), ("m", 2), ("b", 997)]
SEED_CONFIGS = [
    dict(bin_size=1, normalization=None),
    dict(bin_size=3, normalization="BPM", counting_strategy="insertion"),
    dict(bin_size=1000, normalization="RPKM", smooth_base=7),
    dict(bin_size=2, normalization="CPM", smooth_base=6, min_frag_length=5, max_frag_length=80),
]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tiny_chromosomes_random_seeds(seed, tmp_path):
    """1- and 2-bp chromosomes, bins and windows wider than chromosomes, several seeds."""
    rng = np.random.default_rng(seed)
    n = 4000
    Ls = np.array([L for _, L in TINY_CS])
    chrom = rng.choice(len(TINY_CS), size=n, p=[0.05, 0.6, 0.05, 0.3])
    start = rng.integers(0, Ls[chrom])
    end = start + rng.integers(1, 150, size=n)
    n_cells = 7
    cell = rng.integers(0, n_cells - 1, size=n)  # the last cell has no fragments
    labels = [str(rng.integers(0, 3)) for _ in range(n_cells)]
    obs = pd.DataFrame({"cell_type": labels}, index=[f"c{i}" for i in range(n_cells)])
    adata = make_anndata(TINY_CS, chrom, start, end, cell, n_cells, obs=obs)
    names = [c for c, _ in TINY_CS]
    group_of = np.array(labels, dtype=object)[cell]
    for i, opts in enumerate(SEED_CONFIGS):
        length = end - start
        kept = ((length >= opts.get("min_frag_length", 0))
                & (length <= opts.get("max_frag_length", 2000)))
        empty = sorted(set(labels) - set(group_of[kept]))
        for suffix in (".bedgraph", ".bw"):
            with expect_warnings(*[EMPTY_GROUP_WARNING.format(g) for g in empty]):
                paths = run_export(adata, tmp_path / f"{i}{suffix}", suffix=suffix, **opts)
            kw = dict(bin_size=10, normalization="RPKM", max_frag_length=2000)
            kw.update(opts)
            exp = model.coverage_tracks(TINY_CS, chrom, start, end,
                                        np.array(labels, dtype=object)[cell],
                                        groups=sorted(set(labels)), as_list=False, **kw)
            assert set(paths) == set(exp)
            for g, e in exp.items():
                assert_track_matches(paths[g], e, names, label=f"seed {seed} {opts} {suffix} {g}")


def test_model_sanity_random_data(rnd):
    """The random data exercises what it should (guards the generator)."""
    L = dict(CHROM_SIZES)
    past = rnd["end"] > np.array([L[NAMES[c]] for c in rnd["chrom"]])
    assert past.sum() > 50
    assert (rnd["end"] - rnd["start"] > 2000).sum() > 100
    t = model_tracks(rnd, dict(bin_size=1, normalization=None), groups=["A"])["A"]
    assert "chrS" in set(t.chrom) and t.end[t.chrom == "chrS"].max() == 53
    assert "chrE" not in set(t.chrom)


# ---------------------------------------------------------------------------
# Empty groups
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".bedgraph", ".bedgraph.gz", ".bedgraph.zst", ".bw"])
@pytest.mark.parametrize("how", ["no_fragments", "all_filtered"])
def test_empty_group_writes_valid_empty_file(suffix, how, rnd, tmp_path):
    g = "empty" if how == "no_fragments" else "B"
    with expect_warnings(EMPTY_GROUP_WARNING.format(g)):  # an empty track comes with a warning
        if how == "no_fragments":
            paths = run_export(rnd["adata"], tmp_path, selections=["empty"], suffix=suffix)
        else:  # every fragment is removed by the length filter
            paths = run_export(rnd["adata"], tmp_path, selections=["B"], suffix=suffix,
                               min_frag_length=10**7, max_frag_length=None)
    assert list(paths) == [g]
    p = Path(paths[g])
    assert p.is_file()
    assert len(read_track(p, NAMES)) == 0
    if suffix == ".bw":
        import pyBigWig
        bw = pyBigWig.open(str(p))
        assert bw is not None and bw.isBigWig()
        assert bw.chroms() == dict(CHROM_SIZES)
        bw.close()


# ---------------------------------------------------------------------------
# Output formats, compression and file names (docs/spec.md section 4)
# ---------------------------------------------------------------------------

BIGWIG_MAGIC = b"\x26\xfc\x8f\x88"
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def sniff(path) -> str:
    head = Path(path).read_bytes()[:4]
    if head == BIGWIG_MAGIC:
        return "bigwig"
    if head[:2] == GZIP_MAGIC:
        return "gzip"
    if head == ZSTD_MAGIC:
        return "zstd"
    return "plain"


def read_by_content(path) -> Records:
    """Read a track whatever its file name, from its magic bytes."""
    kind = sniff(path)
    if kind == "bigwig":
        return read_bigwig(path, NAMES)
    ext = {"gzip": ".gz", "zstd": ".zst", "plain": ""}[kind]
    tmp = Path(str(path) + ".read" + ".bedgraph" + ext)
    tmp.write_bytes(Path(path).read_bytes())
    try:
        return read_bedgraph(tmp)
    finally:
        tmp.unlink()


SUFFIXES = [
    (".bw", "bigwig"), (".BW", "bigwig"), (".bigwig", "bigwig"), (".bigWig", "bigwig"),
    (".bedgraph", "plain"), (".bedGraph", "plain"), (".bg", "plain"), (".bdg", "plain"),
    (".BDG", "plain"), (".bedgraph.gz", "gzip"), (".bg.GZ", "gzip"), (".bdg.gz", "gzip"),
    (".bedgraph.zst", "zstd"), (".BEDGRAPH.ZST", "zstd"), (".bg.zst", "zstd"),
    (".Bdg.Zst", "zstd"),
]


@pytest.mark.parametrize("suffix,kind", SUFFIXES)
def test_format_inferred_from_suffix(suffix, kind, rnd, tmp_path):
    opts = dict(bin_size=7, normalization="CPM", selections=["A"])
    paths = run_export(rnd["adata"], tmp_path, suffix=suffix, **opts)
    p = paths["A"]
    assert Path(p).name == "A" + suffix
    assert sniff(p) == kind
    exp = model_tracks(rnd, dict(bin_size=7, normalization="CPM"), groups=["A"])["A"]
    msg = compare_records(read_by_content(p), exp, label=suffix)
    assert msg is None, msg


@pytest.mark.parametrize("output_format,compression,kind", [
    ("bedgraph", None, "plain"), ("bedgraph", "gzip", "gzip"),
    ("bedgraph", "zstandard", "zstd"), ("bigwig", None, "bigwig"),
])
def test_explicit_format_with_custom_suffix(output_format, compression, kind, rnd, tmp_path):
    paths = run_export(rnd["adata"], tmp_path, suffix=".track.txt", selections=["B"],
                       output_format=output_format, compression=compression,
                       normalization=None, bin_size=20)
    assert Path(paths["B"]).name == "B.track.txt"
    assert sniff(paths["B"]) == kind
    exp = model_tracks(rnd, dict(normalization=None, bin_size=20), groups=["B"])["B"]
    assert compare_records(read_by_content(paths["B"]), exp) is None


def test_explicit_format_overrides_suffix(rnd, tmp_path):
    paths = run_export(rnd["adata"], tmp_path, suffix=".bedgraph.gz", selections=["A"],
                       output_format="bigwig")
    assert sniff(paths["A"]) == "bigwig"


@pytest.mark.parametrize("compression,levels,default", [("gzip", (1, 6, 9), 6),
                                                        ("zstandard", (1, 3, 19), 3)])
def test_compression_levels(compression, levels, default, rnd, tmp_path):
    """Every level gives the model's track, and the level is applied: the highest
    level writes a smaller file than the lowest, and no level given writes exactly
    the bytes of the default level (docs/spec.md section 4: gzip 6, zstd 3), which
    differ from both the lowest and the highest."""
    suffix = ".bedgraph.gz" if compression == "gzip" else ".bedgraph.zst"
    exp = model_tracks(rnd, dict(normalization=None, bin_size=1), groups=["A"])["A"]
    data = {}
    for level in (*levels, None):
        paths = run_export(rnd["adata"], tmp_path / str(level), suffix=suffix, selections=["A"],
                           compression_level=level, normalization=None, bin_size=1)
        assert compare_records(read_track(paths["A"], NAMES), exp) is None, level
        data[level] = Path(paths["A"]).read_bytes()
    size = {k: len(v) for k, v in data.items()}
    lo, hi = levels[0], levels[-1]
    assert size[lo] > size[hi], size
    assert data[None] == data[default], size
    assert data[None] != data[lo] and data[None] != data[hi], size


@pytest.mark.parametrize("kw", [
    dict(suffix=".txt"), dict(suffix=""), dict(suffix=".gz"),
    dict(suffix=".bedgraph.gz", compression_level=10),
    dict(suffix=".bedgraph.gz", compression_level=0),
    dict(suffix=".bedgraph.zst", compression_level=23),
    dict(suffix=".bedgraph", output_format="wig"),
    dict(suffix=".bedgraph", compression="bzip2"),
], ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_bad_format_options_raise_before_writing(kw, rnd, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ValueError):
        run_export(rnd["adata"], out, selections=["A"], **kw)
    assert not out.exists() or not any(out.iterdir())


def test_file_names_prefix_suffix_and_slash(rnd, tmp_path):
    out = tmp_path / "new" / "nested"  # created if missing
    with expect_warnings(EMPTY_GROUP_WARNING.format("empty")):
        paths = run_export(rnd["adata"], out, prefix="pre_", suffix=".cov.bg",
                           normalization=None)
    assert set(paths) == set(GROUPS)
    for g, p in paths.items():
        assert isinstance(p, str)
        assert Path(p) == out / ("pre_" + g.replace("/", "+") + ".cov.bg")
        assert Path(p).is_file()
    assert paths["T/NK"].endswith("pre_T+NK.cov.bg")
    # nothing else (no temporary files) left in out_dir
    assert sorted(os.listdir(out)) == sorted(Path(p).name for p in paths.values())


def test_bedgraph_text_format(rnd, tmp_path):
    paths = run_export(rnd["adata"], tmp_path, suffix=".bedgraph", selections=["A", "T/NK"],
                       normalization=None, bin_size=7, smooth_base=None)
    for g, p in paths.items():
        text = Path(p).read_text()
        lines = text.splitlines()
        assert lines, g
        assert text.endswith("\n")
        for ln in lines[:2000]:
            f = ln.split("\t")
            assert len(f) == 4, ln
            assert f[0] in NAMES
            int(f[1]), int(f[2])
            # raw counts are whole numbers: no decimal point ("3", not "3.0")
            assert f[3].isdigit(), ln


def test_bedgraph_values_round_trip_float32(rnd, tmp_path):
    opts = dict(normalization="RPKM", bin_size=7, smooth_base=4)
    paths = run_export(rnd["adata"], tmp_path, suffix=".bedgraph", selections=["B"], **opts)
    exp = model_tracks(rnd, opts, groups=["B"])["B"]
    got = read_bedgraph(paths["B"])
    assert len(got) == len(exp)
    # each value reads back to exactly the float32 of the model's float64 value
    ulps = float32_ulps(got.value, exp.value)
    assert ulps.max() == 0, f"max {ulps.max()} ulps at record {int(ulps.argmax())}"


def test_bigwig_header_and_values(rnd, tmp_path):
    import pyBigWig
    opts = dict(normalization="CPM", bin_size=10, smooth_base=51)
    with expect_warnings(EMPTY_GROUP_WARNING.format("empty")):
        paths = run_export(rnd["adata"], tmp_path, suffix=".bw", **opts)
    expected = model_tracks(rnd, opts)
    check_against_model(paths, expected, "bigwig")
    for g, p in paths.items():
        bw = pyBigWig.open(p)
        try:
            assert bw.chroms() == dict(CHROM_SIZES)  # every reference sequence
            if len(expected[g]):
                assert bw.header()["nLevels"] >= 1, "bigWig without zoom levels"
                e = expected[g]
                for c in NAMES:
                    sel = e.chrom == c
                    if not sel.any():
                        continue
                    w = (e.end - e.start)[sel]
                    mx, mean = e.value[sel].max(), (e.value[sel] * w).sum() / w.sum()
                    # whole-chromosome max from the zoom levels (non-exact pyBigWig
                    # means are approximate even for SnapATAC2's files, so not checked)
                    assert np.float32(bw.stats(c, type="max")[0]) == np.float32(mx), (g, c)
                    assert np.float32(bw.stats(c, type="max", exact=True)[0]) == np.float32(mx)
                    assert np.isclose(bw.stats(c, type="mean", exact=True)[0], mean, rtol=1e-5)
        finally:
            bw.close()


# ---------------------------------------------------------------------------
# Threads: byte-identical output
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("suffix,opts", [
    (".bw", dict(normalization="BPM", bin_size=1, smooth_base=4)),
    (".bedgraph.zst", dict(normalization="CPM", counting_strategy="insertion", bin_size=7)),
    (".bedgraph.gz", dict(normalization="RPKM", bin_size=10)),
])
def test_n_jobs_byte_identical(suffix, opts, rnd, tmp_path):
    out = {}
    for n in (1, 2, 0):  # 0: all cores
        with expect_warnings(EMPTY_GROUP_WARNING.format("empty")):
            paths = run_export(rnd["adata"], tmp_path / f"j{n}", suffix=suffix, n_jobs=n, **opts)
        out[n] = {g: Path(p).read_bytes() for g, p in paths.items()}
    assert out[1].keys() == out[2].keys() == out[0].keys()
    for g in out[1]:
        assert out[1][g] == out[2][g], f"group {g}: n_jobs=1 and n_jobs=2 differ"
        assert out[1][g] == out[0][g], f"group {g}: n_jobs=1 and n_jobs=0 differ"


# ---------------------------------------------------------------------------
# SnapATAC2 2.9.0 fixtures, directly
# ---------------------------------------------------------------------------

_ADATA: dict[str, object] = {}


def _fixture_adata(name):
    if name not in _ADATA:
        _ADATA[name] = dataset_anndata(name)
    return _ADATA[name]




@pytest.mark.parametrize("case", FIXTURE_CASES, ids=fixture_case_id)
def test_matches_snapatac2_fixture(case, tmp_path):
    """Same track as SnapATAC2 2.9.0, except fragment-mode CPM/RPKM where docs/spec.md section 3.9
    divides by the unit count: there SnapATAC2's values are multiplied by
    (summed unit length / unit count) of the group."""
    ds_name, cfg, group, suffix, _ = case
    opts = fixture_options(case)
    # the single-end configs give max_frag_length=50, which is warned about and ignored
    messages = [SINGLE_END_LENGTH_WARNING] if ds_name == "single_end" else []
    with expect_warnings(*messages):
        paths = run_export(_fixture_adata(ds_name), tmp_path, selections=[group],
                           suffix=suffix, **opts)
    names = [c for c, _ in load_dataset(ds_name)["chrom_sizes"]]
    expected = read_track(fixture_track_path(case), names)
    norm = case[4].get("normalization", "RPKM")
    max_ulps = 0
    if norm in ("CPM", "RPKM") and case[4].get("counting_strategy", "fragment") == "fragment":
        _, stats = model_for_case(case, return_stats=True)
        expected.value = expected.value * (stats["length"] / stats["count"])
        max_ulps = rescaled_ulps(fixture_track_path(case))
    assert_track_matches(paths[group], expected, names, max_ulps=max_ulps,
                         label=fixture_case_id(case))


@pytest.mark.parametrize("case", PARTIAL_BIN_CASES, ids=fixture_case_id)
def test_matches_snapatac2_up_to_the_partial_last_bin(case, tmp_path):
    """Chromosome lengths that are not multiples of bin_size: SnapATAC2's track with
    the README's two documented partial-last-bin differences undone explicitly
    (helpers.snapatac2_partial_bin_to_spec: insertions past the chromosome end
    taken out of the last bin; BPM total over every bin), at 0 float32 ulps."""
    ds_name, cfg, group, suffix, _ = case
    paths = run_export(_fixture_adata(ds_name), tmp_path, selections=[group], suffix=suffix,
                       **fixture_options(case))
    names = [c for c, _ in load_dataset(ds_name)["chrom_sizes"]]
    expected = snapatac2_partial_bin_to_spec(case, read_track(fixture_track_path(case), names))
    assert_track_matches(paths[group], expected, names, label=fixture_case_id(case))


def test_rpkm_denominator_evaluated_in_spec_order(tmp_path):
    """64 fragments, 9 of them over base 100: RPKM at bin_size 1 is 9 / (64/1e6 * (1/1e3)).

    docs/spec.md section 3.6 fixes the order, N/1e6 x (bin_size/1e3): the other
    order, N/1e6 x bin_size / 1e3, gives a float64 denominator one bit away, and
    9 / 64e-9 = 140,625,000 is a float32 rounding midpoint, so the two orders
    round to different float32s (140,624,992 vs 140,625,008) here."""
    cs = [("c1", 1000)]
    start = np.r_[100 - np.arange(9), 500 + np.arange(55)]
    end = np.r_[np.full(9, 101), 501 + np.arange(55)]
    chrom = np.zeros(64, dtype=np.int64)
    obs = pd.DataFrame({"cell_type": ["g"]}, index=["c0"])
    adata = make_anndata(cs, chrom, start, end, np.zeros(64, dtype=np.int64), 1, obs=obs)
    paths = run_export(adata, tmp_path, suffix=".bedgraph", bin_size=1, normalization="RPKM")
    expected = model.coverage_tracks(cs, chrom, start, end, ["g"] * 64, bin_size=1,
                                     as_list=False)["g"]
    assert_track_matches(paths["g"], expected, ["c1"], label="RPKM N=64")
