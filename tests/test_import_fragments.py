"""fragcov.import_fragments against SnapATAC2 2.9.0 outputs (tests/data/import)."""
from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

import fragcov
from fragcov._genomes import resolve_chrom_sizes
from helpers import assert_import_matches as assert_matches

D = Path(__file__).resolve().parent / "data" / "import"
SUB = D / "pbmc_sub.tsv.gz"
SUB_SIZES = D / "pbmc_sub.chrom.sizes"
EDGE_SIZES = {"chr2": 1000, "chr1": 500, "chrM": 200}


def bgzip_bytes(data: bytes) -> bytes:
    """Minimal BGZF writer (bgzip format: gzip members with a BC extra field)."""
    out = bytearray()
    for i in range(0, len(data), 65280):
        chunk = data[i:i + 65280]
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        comp = c.compress(chunk) + c.flush()
        bsize = 18 + len(comp) + 8 - 1
        out += struct.pack("<BBBBIBBHBBHH", 31, 139, 8, 4, 0, 0, 255, 6, 66, 67, 2, bsize)
        out += comp + struct.pack("<II", zlib.crc32(chunk) & 0xFFFFFFFF, len(chunk))
    out += bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
    return bytes(out)


# --------------------------------------------------------------------------
# Equality with SnapATAC2
# --------------------------------------------------------------------------


def test_paired_default():
    a = fragcov.import_fragments(SUB, SUB_SIZES)
    assert_matches(a, "paired_default")


def test_paired_min_num_fragments():
    a = fragcov.import_fragments(str(SUB), SUB_SIZES, min_num_fragments=1500)
    assert_matches(a, "paired_min1500")
    assert (a.obs["n_fragment"] >= 1500).all()


@pytest.mark.parametrize("as_list", [False, True])
def test_paired_whitelist(as_list):
    wl = D / "whitelist.txt"
    if as_list:
        wl = [x for x in wl.read_text().split("\n") if x]
    a = fragcov.import_fragments(SUB, SUB_SIZES, min_num_fragments=0, whitelist=wl)
    assert_matches(a, "paired_whitelist")


def test_custom_mito_names():
    a = fragcov.import_fragments(SUB, SUB_SIZES, min_num_fragments=0, chrM=["chr22"])
    assert_matches(a, "paired_chrM_chr22")


def test_unsorted_input():
    a = fragcov.import_fragments(D / "pbmc_sub_shuffled.tsv.gz", SUB_SIZES,
                                 sorted_by_barcode=False, min_num_fragments=1000)
    assert_matches(a, "paired_unsorted")
    assert list(a.obs_names) == sorted(a.obs_names)


def test_unsorted_input_with_sorted_flag_is_an_error():
    with pytest.raises(ValueError, match=r"not sorted.*sorted_by_barcode=False"):
        fragcov.import_fragments(D / "pbmc_sub_shuffled.tsv.gz", SUB_SIZES)


def test_sorted_flag_false_on_sorted_input_orders_by_barcode():
    a = fragcov.import_fragments(SUB, SUB_SIZES, sorted_by_barcode=False)
    b = fragcov.import_fragments(SUB, SUB_SIZES)
    assert list(a.obs_names) == sorted(b.obs_names)
    b = b[list(a.obs_names)]
    for col in ["n_fragment", "frac_dup", "frac_mito"]:
        np.testing.assert_array_equal(a.obs[col].to_numpy(), b.obs[col].to_numpy())
    ma, mb = a.obsm["fragment_paired"], b.obsm["fragment_paired"]
    np.testing.assert_array_equal(ma.indices, mb.indices)
    np.testing.assert_array_equal(ma.data, mb.data)


@pytest.mark.filterwarnings("ignore:.*line.s. on chromosomes not in chrom_sizes were skipped")  # on purpose
def test_edge_cases():
    # comment, zero-length fragment (dropped), unknown chromosome (skipped),
    # duplicates at one position sorted by length, '.' count, mito names,
    # a barcode with only a zero-length line (absent), chromosomes stored by name.
    a = fragcov.import_fragments(D / "edge.tsv", EDGE_SIZES, min_num_fragments=0)
    assert_matches(a, "edge")
    assert list(a.uns["reference_sequences"]["reference_seq_name"]) == ["chr1", "chr2", "chrM"]


@pytest.mark.filterwarnings("ignore:.*line.s. on chromosomes not in chrom_sizes were skipped")  # on purpose
def test_edge_cases_mito_not_in_chrom_sizes():
    a = fragcov.import_fragments(D / "edge.tsv", {"chr2": 1000, "chr1": 500}, min_num_fragments=0)
    assert_matches(a, "edge_nomito")
    assert (a.obs["frac_mito"] == 0).all()


def test_single_end():
    a = fragcov.import_fragments(D / "single_end.tsv.gz", "hg38", is_paired=False,
                                 min_num_fragments=0)
    assert_matches(a, "single_end")


def test_single_end_file_read_as_paired_warns():
    with pytest.warns(UserWarning, match="strand"):
        a = fragcov.import_fragments(D / "single_end.tsv.gz", "GRCh38", min_num_fragments=0)
    assert_matches(a, "single_end_as_paired")


def test_single_end_needs_strand_column(tmp_path):
    f = tmp_path / "p.tsv"
    f.write_text("chr1\t10\t20\tA\t1\n")
    with pytest.raises(ValueError, match=r"line 1.*strand"):
        fragcov.import_fragments(f, {"chr1": 100}, is_paired=False, min_num_fragments=0)


# --------------------------------------------------------------------------
# Input formats
# --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["plain", "gzip", "bgzip", "zstd"])
def test_compression_formats(tmp_path, fmt):
    text = gzip.decompress(SUB.read_bytes())
    if fmt == "zstd":
        import zstandard
        f = tmp_path / "frag.tsv.zst"
        f.write_bytes(zstandard.ZstdCompressor(level=3).compress(text))
    elif fmt == "plain":
        f = tmp_path / "frag.tsv"
        f.write_bytes(text)
    elif fmt == "gzip":
        f = tmp_path / "frag.tsv.gz"
        f.write_bytes(gzip.compress(text))
    else:
        f = tmp_path / "frag.tsv.bgz"
        f.write_bytes(bgzip_bytes(text))
    a = fragcov.import_fragments(f, SUB_SIZES)
    assert_matches(a, "paired_default")


def test_one_cell_per_batch_and_crlf(tmp_path):
    # cells handed over one at a time (chunk_size=1), to memory and to a file, and CRLF line ends
    assert_matches(fragcov.import_fragments(SUB, SUB_SIZES, chunk_size=1), "paired_default")
    a = fragcov.import_fragments(SUB, SUB_SIZES, chunk_size=1, file=tmp_path / "one.h5ad")
    try:
        assert_matches(a, "paired_default")
    finally:
        a.file.close()
    text = gzip.decompress(SUB.read_bytes()).replace(b"\n", b"\r\n")
    f = tmp_path / "crlf.tsv"
    f.write_bytes(text)
    assert_matches(fragcov.import_fragments(f, SUB_SIZES), "paired_default")
    with pytest.raises(ValueError, match="not sorted"):
        fragcov.import_fragments(D / "pbmc_sub_shuffled.tsv.gz", SUB_SIZES, chunk_size=1)
    a = fragcov.import_fragments(D / "pbmc_sub_shuffled.tsv.gz", SUB_SIZES,
                                 sorted_by_barcode=False, min_num_fragments=1000, chunk_size=1)
    assert_matches(a, "paired_unsorted")


def test_four_columns_count_defaults_to_one(tmp_path):
    f = tmp_path / "f.tsv"
    f.write_text("chr1\t10\t20\tA\nchr1\t5\t25\tA\n")
    a = fragcov.import_fragments(f, {"chr1": 100}, min_num_fragments=0)
    m = a.obsm["fragment_paired"]
    assert m.indices.tolist() == [5, 10] and m.data.tolist() == [20, 10]
    assert a.obs["frac_dup"].tolist() == [0.0]


# --------------------------------------------------------------------------
# Output file
# --------------------------------------------------------------------------


def test_file_output_backed(tmp_path):
    import anndata as ad

    out = tmp_path / "out.h5ad"
    a = fragcov.import_fragments(SUB, SUB_SIZES, file=out)
    try:
        assert a.isbacked and Path(a.filename) == out
        assert_matches(a, "paired_default")
    finally:
        a.file.close()
    assert [p.name for p in tmp_path.iterdir()] == ["out.h5ad"]
    b = ad.read_h5ad(out)
    assert_matches(b, "paired_default")


def test_file_output_no_partial_file_on_error(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("chr1\t10\t20\tA\t1\nchr1\tten\t20\tA\t1\n")
    out = tmp_path / "out.h5ad"
    with pytest.raises(ValueError):
        fragcov.import_fragments(bad, {"chr1": 100}, file=out, min_num_fragments=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tsv"]


@pytest.mark.filterwarnings("ignore:.*line.s. on chromosomes not in chrom_sizes were skipped")  # on purpose
def test_list_of_files(tmp_path):
    outs = [tmp_path / "a.h5ad", tmp_path / "b.h5ad"]
    res = fragcov.import_fragments([SUB, D / "edge.tsv"], SUB_SIZES, file=outs,
                                   min_num_fragments=0)
    assert isinstance(res, list) and len(res) == 2
    try:
        assert res[0].n_obs == 22 and list(res[1].obs_names) == ["B", "A", "E", "C"]
    finally:
        for r in res:
            r.file.close()
    mem = fragcov.import_fragments([SUB], SUB_SIZES)
    assert isinstance(mem, list)
    assert_matches(mem[0], "paired_default")
    with pytest.raises(ValueError, match="length of 'file'"):
        fragcov.import_fragments([SUB, SUB], SUB_SIZES, file=[tmp_path / "x.h5ad"])


def test_nothing_passes_filter_warns_and_returns_empty():
    with pytest.warns(UserWarning, match="no barcode"):
        a = fragcov.import_fragments(SUB, SUB_SIZES, min_num_fragments=10**9)
    assert a.n_obs == 0


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def test_missing_fragment_file(tmp_path):
    missing = tmp_path / "nope.tsv.gz"
    with pytest.raises(FileNotFoundError, match=r"nope.tsv.gz"):
        fragcov.import_fragments(missing, SUB_SIZES)


def test_missing_output_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fragcov.import_fragments(SUB, SUB_SIZES, file=tmp_path / "no" / "out.h5ad")


@pytest.mark.parametrize(
    "content, match",
    [
        ("chr1\t10\t20\tA\t1\nchr1\tx\t20\tA\t1\n", r"line 2.*start and end"),
        ("# header\nchr1\t10\t20\tA\t1\nchr1\t30\t20\tA\t1\n", r"line 3.*smaller than start"),
        ("chr1\t10\t20\tA\t1\nchr1\t10\t20\n", r"line 2.*column"),
        ("chr1\t10\t20\tA\tmany\n", r"line 1.*count"),
        ("chr1\t10\t20\t.\t1\n", r"line 1.*barcode"),
        ("chr1\t-5\t20\tA\t1\n", r"line 1"),
    ],
)
def test_malformed_lines(tmp_path, content, match):
    f = tmp_path / "bad.tsv"
    f.write_text(content)
    with pytest.raises(ValueError, match=match) as ei:
        fragcov.import_fragments(f, {"chr1": 100}, min_num_fragments=0)
    assert "bad.tsv" in str(ei.value)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="min_num_fragments"):
        fragcov.import_fragments(SUB, SUB_SIZES, min_num_fragments=-1)
    with pytest.raises(FileNotFoundError, match="whitelist"):
        fragcov.import_fragments(SUB, SUB_SIZES, whitelist=tmp_path / "wl.txt")
    with pytest.raises(ValueError, match="unknown genome"):
        fragcov.import_fragments(SUB, "hg37")
    with pytest.raises(FileNotFoundError):
        fragcov.import_fragments(SUB, tmp_path / "x.chrom.sizes")
    with pytest.raises(ValueError, match="empty"):
        fragcov.import_fragments(SUB, {})


# --------------------------------------------------------------------------
# Genomes
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, n, first, last",
    [
        ("hg38", 25, ("chr1", 248956422), ("chrM", 16569)),
        ("GRCh38", 25, ("chr1", 248956422), ("chrM", 16569)),
        ("hg19", 25, ("chr1", 249250621), ("chrM", 16571)),
        ("grch37", 25, ("chr1", 249250621), ("chrM", 16571)),
        ("mm10", 22, ("chr1", 195471971), ("chrM", 16299)),
        ("GRCm38", 22, ("chr1", 195471971), ("chrM", 16299)),
        ("MM39", 22, ("chr1", 195154279), ("chrM", 16299)),
        ("GRCm39", 22, ("chr1", 195154279), ("chrM", 16299)),
    ],
)
def test_builtin_genomes(name, n, first, last):
    cs = resolve_chrom_sizes(name)
    assert len(cs) == n and cs[0] == first and cs[-1] == last
    assert cs[1][0] == "chr2" and cs[-3][0] == "chrX"


def test_resolve_chrom_sizes_forms(tmp_path):
    expected = [("chr21", 46709983), ("chr22", 50818468), ("chrM", 16569)]
    assert resolve_chrom_sizes(SUB_SIZES) == expected
    assert resolve_chrom_sizes(str(SUB_SIZES)) == expected
    assert resolve_chrom_sizes(dict(expected)) == expected
    assert resolve_chrom_sizes(expected) == expected

    class Genome:
        chrom_sizes = dict(expected)

    assert resolve_chrom_sizes(Genome()) == expected
    bad = tmp_path / "bad.sizes"
    bad.write_text("chr1\t100\nchr2\tlots\n")
    with pytest.raises(ValueError, match=r"line 2"):
        resolve_chrom_sizes(bad)
    bad.write_text("chr1\t100\nchr1\t200\n")
    with pytest.raises(ValueError, match=r"already listed"):
        resolve_chrom_sizes(bad)
    with pytest.raises(ValueError, match="positive"):
        resolve_chrom_sizes({"chr1": 0})
    with pytest.raises(ValueError, match="unknown genome"):
        resolve_chrom_sizes("hg99")
    with pytest.raises(FileNotFoundError):
        resolve_chrom_sizes(str(tmp_path / "missing.chrom.sizes"))
    with pytest.raises(TypeError):
        resolve_chrom_sizes(42)
