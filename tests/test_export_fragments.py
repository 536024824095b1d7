"""fragcov.export_fragments: same files as snapatac2.ex.export_fragments (2.9.0).

Reference outputs in data/export_fragments/expected/ were written by SnapATAC2 2.9.0;
see data/export_fragments/README.md. These tests need neither SnapATAC2 nor anything
outside tests/.
"""
from __future__ import annotations

import gzip
import os

import anndata as ad
import hdf5plugin  # noqa: F401  (single_end.h5ad was written by SnapATAC2: Blosc filters)
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from fragcov import _export_fragments as ef
from fragcov._export_fragments import export_fragments
from helpers import DATA, SINGLE_END_LENGTH_WARNING, expect_warnings, make_anndata
from pathlib import Path

zstandard = pytest.importorskip("zstandard")

HERE = DATA / "export_fragments"
PAIRED = HERE / "paired_sub.h5ad"
SINGLE = HERE / "single_end.h5ad"
GROUPS = ["CD14 Mono", "CD4 Naive", "CD8 Memory"]

# Same calls as data/export_fragments/CONFIGS.txt (name, input, keyword arguments).
CONFIGS = [
    ("paired_default", PAIRED, dict(groupby="cell_type")),
    ("paired_ids_gz_sel", PAIRED,
     dict(groupby="cell_type", ids="alias", selections=["CD8 Memory", "CD14 Mono"], prefix="frag_",
          suffix=".bed.gz")),
    ("paired_len100to300_plain", PAIRED,
     dict(groupby="cell_type", min_frag_length=100, max_frag_length=300, suffix=".bed")),
    ("paired_min150_zstd19", PAIRED,
     dict(groupby="cell_type", min_frag_length=150, suffix=".tsv", compression="zstandard",
          compression_level=19)),
    ("paired_max1_empty", PAIRED, dict(groupby="cell_type", max_frag_length=1)),
    ("single_default", SINGLE, dict(groupby="grp")),
    ("single_lenfilter_ignored", SINGLE,
     dict(groupby="grp", min_frag_length=100, max_frag_length=150, suffix=".bed")),
]


# warnings some configs must give, by text (no other warning is accepted)
WARNINGS = {
    "paired_max1_empty": [f"group {g!r} has no fragments to export: wrote an empty file" for g in GROUPS],
    "single_lenfilter_ignored": [SINGLE_END_LENGTH_WARNING],
}


def codec_of(path) -> str:
    head = Path(path).read_bytes()[:4]
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head == b"\x28\xb5\x2f\xfd":
        return "zstandard"
    return "none"


def read_text(path) -> bytes:
    """Decompressed bytes of a plain, gzip or zstandard file (zstd frames may lack a content size)."""
    codec = codec_of(path)
    with open(path, "rb") as fh:
        if codec == "gzip":
            return gzip.decompress(fh.read())
        if codec == "zstandard":
            return zstandard.ZstdDecompressor().stream_reader(fh).read()
        return fh.read()


def expected_dir(name):
    return HERE / "expected" / name


def assert_same_as_snapatac2(name, out, result):
    exp = expected_dir(name)
    assert sorted(os.listdir(out)) == sorted(os.listdir(exp))
    assert sorted(os.path.basename(p) for p in result.values()) == sorted(os.listdir(exp))
    for f in os.listdir(exp):
        assert read_text(out / f) == read_text(exp / f), f
        assert codec_of(out / f) == codec_of(exp / f), f


def paired_frame(h5ad=PAIRED) -> pd.DataFrame:
    """All fragments of the test file as a table (cell order, stored order): an independent reference."""
    a = ad.read_h5ad(h5ad)
    m = a.obsm["fragment_paired"]
    ref = a.uns["reference_sequences"]
    off = np.concatenate([[0], np.cumsum(ref["reference_seq_length"].to_numpy().astype(np.int64))])
    chrom = np.searchsorted(off, m.indices, side="right") - 1
    cell = np.repeat(np.arange(a.n_obs), np.diff(m.indptr))
    start = m.indices - off[chrom]
    return pd.DataFrame({"chrom": ref["reference_seq_name"].to_numpy()[chrom], "start": start,
                         "end": start + m.data.astype(np.int64), "name": a.obs_names.to_numpy()[cell],
                         "group": a.obs["cell_type"].astype(str).to_numpy()[cell], "cell": cell})


def lines_of(df: pd.DataFrame, name_col="name") -> bytes:
    return "".join(f"{c}\t{s}\t{e}\t{n}\t1\n" for c, s, e, n in
                   zip(df["chrom"], df["start"], df["end"], df[name_col])).encode()


# ----------------------------------------------------------------------------
# Same output as SnapATAC2
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("name,inp,kwargs", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_matches_snapatac2(name, inp, kwargs, tmp_path):
    out = tmp_path / "out"
    with expect_warnings(*WARNINGS.get(name, ())):
        result = export_fragments(str(inp), out_dir=out, **kwargs)
    assert_same_as_snapatac2(name, out, result)
    groups = kwargs.get("selections") or sorted(ad.read_h5ad(inp).obs[kwargs["groupby"]].astype(str).unique())
    assert list(result) == list(groups)
    assert all(isinstance(p, str) for p in result.values())


@pytest.mark.parametrize("form", ["memory", "backed", "view", "list", "anndata-list"])
def test_input_forms_match_snapatac2(form, tmp_path):
    if form == "memory":
        adata = ad.read_h5ad(PAIRED)
    elif form == "backed":
        adata = ad.read_h5ad(PAIRED, backed="r")
    elif form == "view":
        adata = ad.read_h5ad(PAIRED, backed="r")[np.arange(14)]
    elif form == "list":  # two files whose cells are concatenated in order
        full = ad.read_h5ad(PAIRED)
        full[:5].copy().write_h5ad(tmp_path / "p1.h5ad")
        full[5:].copy().write_h5ad(tmp_path / "p2.h5ad")
        adata = [tmp_path / "p1.h5ad", str(tmp_path / "p2.h5ad")]
    else:
        full = ad.read_h5ad(PAIRED)
        adata = [full[:9].copy(), full[9:].copy()]
    out = tmp_path / "out"
    result = export_fragments(adata, "cell_type", out_dir=out)
    assert_same_as_snapatac2("paired_default", out, result)


@pytest.mark.parametrize("backed", [True, False])
def test_view_of_some_cells(backed, tmp_path):
    """A view keeps its own cells (and their obs_names) only."""
    a = ad.read_h5ad(PAIRED, backed="r" if backed else None)
    keep = np.zeros(a.n_obs, bool)
    keep[[0, 2, 5, 6, 7, 11, 13]] = True
    result = export_fragments(a[keep], "cell_type", out_dir=tmp_path, suffix=".bed")
    df = paired_frame()
    df = df[keep[df["cell"]]]
    assert sorted(result) == GROUPS
    for g in GROUPS:
        assert read_text(result[g]) == lines_of(df[df["group"] == g])


def test_label_and_id_lists(tmp_path):
    """groupby and ids given as one value per cell give the same files as obs columns."""
    a = ad.read_h5ad(PAIRED)
    out = tmp_path / "out"
    result = export_fragments(a, list(a.obs["cell_type"].astype(str)), selections=["CD8 Memory", "CD14 Mono"],
                              ids=np.asarray(a.obs["alias"]), prefix="frag_", suffix=".bed.gz", out_dir=out)
    assert_same_as_snapatac2("paired_ids_gz_sel", out, result)
    # a Series / Index works too
    out2 = tmp_path / "out2"
    export_fragments(a, a.obs["cell_type"], ids=pd.Index(a.obs["alias"]), selections=["CD14 Mono"],
                     prefix="frag_", suffix=".bed.gz", out_dir=out2)
    assert read_text(out2 / "frag_CD14 Mono.bed.gz") == read_text(
        expected_dir("paired_ids_gz_sel") / "frag_CD14 Mono.bed.gz")


def test_content_against_independent_reference(tmp_path):
    df = paired_frame()
    result = export_fragments(PAIRED, "cell_type", out_dir=tmp_path, suffix=".bed")
    for g in GROUPS:
        assert read_text(result[g]) == lines_of(df[df["group"] == g])


def test_small_chunks_same_output(tmp_path, monkeypatch):
    """Chunk and batch boundaries (many cells per chunk, split lines) do not change the files."""
    import fragcov._sources as sources

    monkeypatch.setattr(sources, "CHUNK_FRAGMENTS", 50)
    monkeypatch.setattr(ef, "BATCH_LINES", 7)
    out = tmp_path / "out"
    assert_same_as_snapatac2("paired_default", out, export_fragments(PAIRED, "cell_type", out_dir=out))
    out = tmp_path / "single"
    assert_same_as_snapatac2("single_default", out, export_fragments(SINGLE, "grp", out_dir=out))


def test_single_end_columns(tmp_path):
    result = export_fragments(SINGLE, "grp", out_dir=tmp_path, suffix=".bed")
    a = ad.read_h5ad(SINGLE)
    m = a.obsm["fragment_single"]
    for g, path in result.items():
        rows = [line.split("\t") for line in read_text(path).decode().splitlines()]
        assert all(len(r) == 6 and r[4] == "1" and r[5] in "+-" for r in rows)
        n = sum(m[i].nnz for i in range(a.n_obs) if a.obs["grp"].iloc[i] == g)
        assert len(rows) == n
        # forward reads start at the stored position, reverse reads end after it
        lengths = [int(r[2]) - int(r[1]) for r in rows]
        assert min(lengths) > 0


# ----------------------------------------------------------------------------
# Groups, selections, filters
# ----------------------------------------------------------------------------

def test_selections_and_missing_labels(tmp_path):
    a = ad.read_h5ad(PAIRED)
    labels = a.obs["cell_type"].astype(object).copy()
    labels.iloc[[1, 2]] = None  # two CD14 Mono cells lose their label
    labels.iloc[3] = np.nan
    result = export_fragments(a, labels.to_numpy(), selections="CD14 Mono", out_dir=tmp_path, suffix=".bed")
    assert list(result) == ["CD14 Mono"]
    df = paired_frame()
    df = df[(df["group"] == "CD14 Mono") & ~df["cell"].isin([1, 2, 3])]
    assert read_text(result["CD14 Mono"]) == lines_of(df)
    assert os.listdir(tmp_path) == ["CD14 Mono.bed"]


def test_categorical_labels_unused_category(tmp_path):
    a = ad.read_h5ad(PAIRED)
    a.obs["ct"] = pd.Categorical(a.obs["cell_type"].astype(str), categories=["NK", *GROUPS[::-1]])
    result = export_fragments(a, "ct", out_dir=tmp_path)
    assert list(result) == GROUPS[::-1]  # category order, unused category left out
    assert sorted(os.listdir(tmp_path)) == sorted(g + ".bed.zst" for g in GROUPS)


def test_integer_labels(tmp_path):
    a = ad.read_h5ad(PAIRED)
    codes = a.obs["cell_type"].cat.codes.to_numpy().astype(int)
    result = export_fragments(a, codes, out_dir=tmp_path, suffix=".bed")
    assert sorted(result) == ["0", "1", "2"]


@pytest.mark.filterwarnings("ignore:group .* has no fragments")
@pytest.mark.parametrize("lo,hi", [(None, 120), (200, None), (147, 147), (0, 10_000)])
def test_length_filter_inclusive(lo, hi, tmp_path):
    df = paired_frame()
    length = df["end"] - df["start"]
    keep = (length >= (lo or 0)) & (length <= (hi if hi is not None else 1 << 40))
    result = export_fragments(PAIRED, "cell_type", min_frag_length=lo, max_frag_length=hi, out_dir=tmp_path,
                              suffix=".bed")
    for g in GROUPS:
        assert read_text(result[g]) == lines_of(df[keep & (df["group"] == g)])


def test_empty_group_is_valid_empty_file(tmp_path):
    with pytest.warns(UserWarning, match="no fragments to export"):
        result = export_fragments(PAIRED, "cell_type", max_frag_length=1, out_dir=tmp_path)
    for path in result.values():
        assert read_text(path) == b"" and codec_of(path) == "zstandard"


# ----------------------------------------------------------------------------
# Files: naming, compression
# ----------------------------------------------------------------------------

def test_file_naming(tmp_path):
    a = ad.read_h5ad(PAIRED)
    labels = np.where(a.obs["cell_type"] == "CD4 Naive", "T/NK", "other")
    out = tmp_path / "new" / "nested"
    result = export_fragments(a, labels, out_dir=out, prefix="pbmc.", suffix=".frag.tsv")
    assert result == {"T/NK": os.path.join(str(out), "pbmc.T+NK.frag.tsv"),
                      "other": os.path.join(str(out), "pbmc.other.frag.tsv")}
    assert sorted(os.listdir(out)) == ["pbmc.T+NK.frag.tsv", "pbmc.other.frag.tsv"]
    assert codec_of(result["other"]) == "none"


@pytest.mark.parametrize("suffix,compression,codec", [
    (".bed.gz", None, "gzip"), (".BED.GZ", None, "gzip"), (".bed.zst", None, "zstandard"),
    (".bed", None, "none"), (".bed", "gzip", "gzip"), (".txt", "zstandard", "zstandard"),
    (".bed.gz", "zstandard", "zstandard"), (".bed", "gz", "gzip"), (".bed", "zstd", "zstandard"),
])
def test_compression_inferred_or_given(suffix, compression, codec, tmp_path):
    result = export_fragments(PAIRED, "cell_type", selections=["CD4 Naive"], suffix=suffix,
                              compression=compression, out_dir=tmp_path)
    path = result["CD4 Naive"]
    assert path.endswith("CD4 Naive" + suffix)
    assert codec_of(path) == codec
    assert read_text(path) == read_text(expected_dir("paired_default") / "CD4 Naive.bed.zst")


@pytest.mark.parametrize("suffix,level", [(".bed.gz", 1), (".bed.gz", 9), (".bed.gz", None),
                                          (".bed.zst", 1), (".bed.zst", 22), (".bed.zst", None)])
def test_compression_levels_round_trip(suffix, level, tmp_path):
    result = export_fragments(PAIRED, "cell_type", suffix=suffix, compression_level=level, out_dir=tmp_path)
    for g in GROUPS:
        assert read_text(result[g]) == read_text(expected_dir("paired_default") / f"{g}.bed.zst")


def test_levels_change_size_and_defaults(tmp_path):
    sizes = {}
    for level in (1, 6, 9, None):
        d = tmp_path / f"gz{level}"
        sizes[level] = os.path.getsize(export_fragments(PAIRED, "cell_type", selections=["CD14 Mono"],
                                                        suffix=".bed.gz", compression_level=level,
                                                        out_dir=d)["CD14 Mono"])
    assert sizes[1] > sizes[9] and sizes[None] == sizes[6]
    d1, d3 = tmp_path / "z1", tmp_path / "z3"
    a = export_fragments(PAIRED, "cell_type", selections=["CD14 Mono"], out_dir=d1)["CD14 Mono"]
    b = export_fragments(PAIRED, "cell_type", selections=["CD14 Mono"], compression_level=3, out_dir=d3)["CD14 Mono"]
    assert Path(a).read_bytes() == Path(b).read_bytes()


def test_gzip_is_reproducible_and_standard(tmp_path):
    """No time stamp or temporary file name in the gzip header: two runs give the same bytes."""
    a = export_fragments(PAIRED, "cell_type", suffix=".bed.gz", out_dir=tmp_path / "a")
    b = export_fragments(PAIRED, "cell_type", suffix=".bed.gz", out_dir=tmp_path / "b")
    for g in GROUPS:
        raw = Path(a[g]).read_bytes()
        assert raw == Path(b[g]).read_bytes()
        assert raw[3] & 0x08 == 0  # no FNAME field
        with gzip.open(a[g], "rt") as fh:
            assert fh.readline().count("\t") == 4


def test_compression_level_ignored_for_plain_text(tmp_path):
    result = export_fragments(PAIRED, "cell_type", suffix=".bed", compression_level=50, out_dir=tmp_path)
    assert codec_of(result["CD4 Naive"]) == "none"


def test_existing_files_are_replaced(tmp_path):
    (tmp_path / "CD4 Naive.bed").write_text("old\n")
    export_fragments(PAIRED, "cell_type", suffix=".bed", out_dir=tmp_path)
    assert read_text(tmp_path / "CD4 Naive.bed") == read_text(expected_dir("paired_default") / "CD4 Naive.bed.zst")
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]


def test_namespace_and_signature():
    import inspect

    params = list(inspect.signature(export_fragments).parameters.items())
    assert [(k, v.default) for k, v in params] == [
        ("adata", inspect.Parameter.empty), ("groupby", inspect.Parameter.empty), ("selections", None),
        ("ids", None), ("min_frag_length", None), ("max_frag_length", None), ("out_dir", "./"), ("prefix", ""),
        ("suffix", ".bed.zst"), ("compression", None), ("compression_level", None)]


# ----------------------------------------------------------------------------
# Bad input and failure
# ----------------------------------------------------------------------------

def tiny():
    """Two cells on a 1 kb chr1, one 50 bp fragment each (at 0 and 100)."""
    obs = pd.DataFrame({"grp": ["a", "b"], "name": ["x", "y"]}, index=["c0", "c1"])
    return make_anndata([("chr1", 1000)], chrom=[0, 0], start=[0, 100], end=[50, 150], cell=[0, 1], n_obs=2, obs=obs)


def tiny_no_frag():
    a = tiny()
    del a.obsm["fragment_paired"]
    return a


def tiny_ids(values):
    def make():
        a = tiny()
        a.obs["name"] = values
        return a
    return make


ERRORS = [
    ("compression", dict(compression="bz2"), ValueError, r"unknown compression 'bz2'"),
    ("compression-type", dict(compression=1), TypeError, r"compression must be a string"),
    ("gzip-level", dict(suffix=".bed.gz", compression_level=10), ValueError, r"gzip compression_level must be 1-9"),
    ("gzip-level-0", dict(compression="gzip", compression_level=0), ValueError, r"gzip compression_level must be 1-9"),
    ("zstd-level", dict(compression_level=23), ValueError, r"zstandard compression_level must be 1-22"),
    ("level-type", dict(compression_level=3.5), TypeError, r"compression_level must be a whole number"),
    ("min-gt-max", dict(min_frag_length=300, max_frag_length=100), ValueError, r"min_frag_length.*larger"),
    ("min-negative", dict(min_frag_length=-1), ValueError, r"min_frag_length must be >= 0"),
    ("max-float", dict(max_frag_length=2.5), TypeError, r"max_frag_length must be a whole number"),
    ("prefix-type", dict(prefix=1), TypeError, r"prefix must be a string"),
    ("suffix-type", dict(suffix=None), TypeError, r"suffix must be a string"),
    ("out-dir-type", dict(out_dir=3), TypeError, r"out_dir must be a path"),
    ("no-fragments", dict(adata=tiny_no_frag), ValueError, r"fragment_paired.*import_fragments"),
    ("input-missing", dict(adata="/nonexistent/data.h5ad"), FileNotFoundError, r"data.h5ad"),
    ("input-type", dict(adata=42), TypeError, r"adata must be"),
    ("groupby-column", dict(groupby="cluster"), ValueError, r"'cluster' is not a column.*grp"),
    ("groupby-length", dict(groupby=["a", "b", "c"]), ValueError, r"3 labels but the data has 2 cells"),
    ("selection", dict(selections=["a", "zzz"]), ValueError, r"'zzz'.*available groups: 'a', 'b'"),
    ("ids-column", dict(ids="barcode"), ValueError, r"ids='barcode' is not a column.*grp, name"),
    ("ids-length", dict(ids=["x"]), ValueError, r"ids has 1 entries but the data has 2 cells"),
    ("ids-type", dict(ids=5), TypeError, r"ids must be None"),
    ("ids-missing", dict(adata=tiny_ids(["x", None]), ids="name"), ValueError, r"ids is missing"),
    ("ids-tab", dict(adata=tiny_ids(["x", "y\tz"]), ids="name"), ValueError, r"'y\\tz' contains a tab"),
    ("group-file-name", dict(groupby=["x" * 300, "b"]), ValueError, r"308 bytes long.*255-byte"),
    ("group-name-clash", dict(groupby=["a/b", "a+b"]), ValueError, r"same file name"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_bad_input_raises_before_writing(case, tmp_path):
    _, kwargs, exc, pattern = case
    kw = dict(adata=tiny, groupby="grp")
    kw.update(kwargs)
    if callable(kw["adata"]):
        kw["adata"] = kw["adata"]()
    kw.setdefault("out_dir", tmp_path / "out")
    with pytest.raises(exc, match=pattern):
        export_fragments(**kw)
    assert not (tmp_path / "out").exists(), "out_dir must not be created for bad input"


def test_missing_ids_of_unexported_cells_are_fine(tmp_path):
    a = tiny_ids(["x", None])()
    result = export_fragments(a, "grp", selections=["a"], ids="name", out_dir=tmp_path, suffix=".bed")
    assert read_text(result["a"]) == b"chr1\t0\t50\tx\t1\n"


def test_out_dir_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(NotADirectoryError, match="not a directory"):
        export_fragments(tiny(), "grp", out_dir=f)
    assert f.read_text() == "x"


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_interrupt_leaves_no_partial_files(exc, tmp_path, monkeypatch):
    """An error or Ctrl-C half-way through leaves no temporary file and does not clobber old files."""
    import fragcov._sources as sources

    monkeypatch.setattr(sources, "CHUNK_FRAGMENTS", 100)
    calls = []
    real = ef._write_chunk

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise exc("stop")
        return real(*args, **kwargs)

    monkeypatch.setattr(ef, "_write_chunk", failing)
    (tmp_path / "CD4 Naive.bed.gz").write_bytes(b"old")
    with pytest.raises(exc):
        export_fragments(PAIRED, "cell_type", suffix=".bed.gz", out_dir=tmp_path)
    assert os.listdir(tmp_path) == ["CD4 Naive.bed.gz"]
    assert (tmp_path / "CD4 Naive.bed.gz").read_bytes() == b"old"


def test_directory_at_output_path_is_refused_before_writing(tmp_path):
    (tmp_path / "a.bed").mkdir()  # a file cannot be renamed onto a directory: refused up front
    with pytest.raises(ValueError, match=r"a.bed' is a directory"):
        export_fragments(tiny(), "grp", out_dir=tmp_path, suffix=".bed")
    assert sorted(os.listdir(tmp_path)) == ["a.bed"]


def test_fragment_outside_genome(tmp_path):
    a = tiny()
    a.obsm["fragment_paired"] = sp.csr_matrix(
        (np.full(2, 50, np.uint32), np.array([0, 5000], np.int64), np.arange(3)), shape=(2, 10_000))
    with pytest.raises(ValueError, match="outside the reference sequences"):
        export_fragments(a, "grp", out_dir=tmp_path)
    assert os.listdir(tmp_path) == []


def test_no_labels_returns_empty(tmp_path):
    with pytest.warns(UserWarning, match="nothing to export"):
        assert export_fragments(tiny(), [None, np.nan], out_dir=tmp_path / "out") == {}
    assert not (tmp_path / "out").exists()
