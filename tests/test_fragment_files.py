"""Fragment files (docs/spec.md sections 8 and 13): export straight from a file
equals import + export byte for byte and the numpy model; the input-trust
rules (strict integers, fragments past the chromosome end, Tn5 shifts, output
mode) each have a regression test; SnapATAC2 reads what import_fragments writes.
"""
from __future__ import annotations

import gzip
import os
import re
import stat
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fragcov
import model
from helpers import assert_tracks_equal, interrupt_at_gate, read_chrom_sizes, read_fragments, read_track
from fragcov import _core
from fragcov._atomic import atomic_output
from fragcov.demo import DEMO
from test_import_fragments import D as IMPORT_DATA
from helpers import assert_import_matches as assert_matches
from test_import_fragments import bgzip_bytes

SIZES = DEMO / "chrom.sizes"  # chr21 46709983, chr22 50818468, chrM 16569
GROUPS = DEMO / "groups.tsv"


def groups_table() -> dict[str, str]:
    return dict(pd.read_csv(GROUPS, sep="\t", header=None, dtype=str).values)


def edge_lines(single_end: bool) -> list[str]:
    """Lines for every rule, on the demo's barcodes (docs/spec.md section 8)."""
    bcs = list(groups_table())
    lines = [
        f"chr21\t46709983\t46710050\t{bcs[0]}\t1",  # starts at chr21's end: skipped (not chr22:0)
        f"chrM\t20000\t20100\t{bcs[1]}\t2",         # past chrM's end: skipped
        f"chr21\t46709950\t46710100\t{bcs[2]}\t1",  # ends past chr21's end: stored, coverage cut
        f"chrUn\t10\t100\t{bcs[3]}\t1",             # unknown chromosome: skipped
        f"chr22\t500\t500\t{bcs[4]}\t1",            # zero length: ignored
        f"chr22\t1\t9\t{bcs[5]}\t1",                # shifts 4/-5 leave [5, 4): dropped
        f"chr22\t2\t300\t{bcs[6]}\t1",              # shift_left=-4 would start at -2: dropped
        f"chr22\t50818400\t50818468\t{bcs[7]}\t1",  # ends exactly at chr22's end
    ]
    if single_end:
        lines = [ln + ("\t+" if i % 2 else "\t-") for i, ln in enumerate(lines)]
    return lines


def write_fragments(path: Path, codec: str, single_end: bool = False, edges: bool = True) -> Path:
    """The demo fragments plus edge_lines(), position-sorted with a 10x '#' header."""
    rows = gzip.decompress((DEMO / "fragments.tsv.gz").read_bytes()).decode().splitlines()
    if single_end:
        rows = [r + ("\t+" if i % 3 else "\t-") for i, r in enumerate(rows)]
    rows += edge_lines(single_end) if edges else []
    key = [(r.split("\t")[0], int(r.split("\t")[1])) for r in rows]
    rows = [r for _, r in sorted(zip(key, rows), key=lambda x: x[0])]
    text = ("# id=demo\n# pipeline=test\n" + "\n".join(rows) + "\n").encode()
    if codec == "plain":
        data = text
    elif codec == "gzip":
        data = gzip.compress(text)
    elif codec == "bgzf":
        data = bgzip_bytes(text)
    else:
        import zstandard

        data = zstandard.ZstdCompressor().compress(text)
    path.write_bytes(data)
    return path


def groupby_as(kind: str):
    table = groups_table()
    if kind == "path":
        return GROUPS
    if kind == "dict":
        return table
    return pd.Series(pd.Categorical(list(table.values())), index=list(table.keys()))


def import_then_export(path, out_dir, *, min_num_fragments, is_paired, shift_left, shift_right, **kw):
    adata = fragcov.import_fragments(path, SIZES, min_num_fragments=min_num_fragments or 0, is_paired=is_paired,
                                     sorted_by_barcode=False, shift_left=shift_left, shift_right=shift_right)
    labels = pd.Series(groups_table()).reindex(adata.obs_names).to_numpy(dtype=object)
    return fragcov.export_coverage(adata, list(labels), out_dir=out_dir, **kw)


CASES = {
    "paired-bw-bgzf-table": dict(codec="bgzf", groupby="path", is_paired=True, export=dict(suffix=".bw")),
    "paired-bedgraph-insertion-gzip-dict-shifted": dict(
        codec="gzip", groupby="dict", is_paired=True, shift_left=4, shift_right=-5,
        export=dict(suffix=".bedgraph.gz", normalization="CPM", counting_strategy="insertion")),
    "paired-bw-zstd-series-min1000": dict(codec="zstd", groupby="series", is_paired=True, min_num_fragments=1000,
                                          export=dict(suffix=".bw", bin_size=50)),
    "single-bedgraph-plain-table-shifted": dict(codec="plain", groupby="path", is_paired=False, shift_left=4,
                                                shift_right=-5, export=dict(suffix=".bedgraph", bin_size=1,
                                                                            normalization=None)),
    "single-bw-insertion-gzip-dict-min600": dict(codec="gzip", groupby="dict", is_paired=False,
                                                 min_num_fragments=600, shift_left=-4,
                                                 export=dict(suffix=".bw", counting_strategy="insertion")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_file_export_equals_import_then_export(tmp_path, name):
    case = CASES[name]
    path = write_fragments(tmp_path / "fragments.tsv.gz", case["codec"], single_end=not case["is_paired"])
    opts = dict(min_num_fragments=case.get("min_num_fragments"), is_paired=case["is_paired"],
                shift_left=case.get("shift_left", 0), shift_right=case.get("shift_right", 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skipped-fragment warnings are tested below
        direct = fragcov.export_coverage(path, groupby_as(case["groupby"]), out_dir=tmp_path / "direct",
                                         chrom_sizes=SIZES, **opts, **case["export"])
        reference = import_then_export(path, tmp_path / "reference", **opts, **case["export"])
    assert set(direct) == set(reference) == set(groups_table().values())
    for group in reference:
        assert Path(direct[group]).read_bytes() == Path(reference[group]).read_bytes(), group


def model_tracks(path: Path, *, is_paired, shift_left=0, shift_right=0, min_num_fragments=0, **export):
    """The tracks of docs/spec.md's fragment-file rules, computed from the text with pandas and numpy."""
    fr = read_fragments(path)
    sizes = sorted(read_chrom_sizes(SIZES))  # stored sorted by name
    names = [c for c, _ in sizes]
    length = dict(sizes)
    chrom = np.array([names.index(c) if c in length else -1 for c in fr["chrom"]])
    s, e = fr["start"] + shift_left, fr["end"] + shift_right
    reverse = np.zeros(len(s), bool) if is_paired else fr["strand"] == "-"
    position = np.where(reverse, e - 1, s)
    chrom_len = np.array([length.get(c, 0) for c in fr["chrom"]])
    keep = (chrom >= 0) & (fr["end"] > fr["start"]) & (e > s) & (s >= 0) & (position < chrom_len)
    labels = pd.Series(groups_table()).reindex(fr["barcode"]).to_numpy(dtype=object)
    if min_num_fragments:
        counted = keep & (fr["chrom"] != "chrM")
        per_barcode = pd.Series(counted).groupby(fr["barcode"]).sum()
        keep &= per_barcode.reindex(fr["barcode"]).to_numpy() >= min_num_fragments
    return model.coverage_tracks(sizes, chrom[keep], s[keep], e[keep], labels[keep],
                                 None if is_paired else fr["strand"][keep], as_list=False,
                                 groups=sorted(set(groups_table().values())), **export)


@pytest.mark.parametrize("name", ["paired-bedgraph-insertion-gzip-dict-shifted", "paired-bw-zstd-series-min1000",
                                  "single-bedgraph-plain-table-shifted"])
def test_file_export_matches_the_model(tmp_path, name):
    case = CASES[name]
    path = write_fragments(tmp_path / "fragments.tsv", "plain", single_end=not case["is_paired"])
    export = {k: v for k, v in case["export"].items() if k != "suffix"}
    opts = dict(min_num_fragments=case.get("min_num_fragments"), is_paired=case["is_paired"],
                shift_left=case.get("shift_left", 0), shift_right=case.get("shift_right", 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tracks = fragcov.export_coverage(path, GROUPS, out_dir=tmp_path / "out", suffix=".bedgraph",
                                         chrom_sizes=SIZES, **opts, **export)
    opts["min_num_fragments"] = opts["min_num_fragments"] or 0
    expected = model_tracks(path, **opts, **export)
    for group, track in tracks.items():
        assert_tracks_equal(read_track(track), expected[group], label=group)


# --------------------------------------------------------------------------
# Input trust (regression tests: each fails on the pandas reader this replaced)
# --------------------------------------------------------------------------


def test_start_past_chromosome_end_is_never_stored(tmp_path):
    """Such a fragment used to be stored at a genome position of the next chromosome."""
    f = tmp_path / "frags.tsv"
    f.write_text("chr1\t10\t20\tA\t1\nchr1\t150\t160\tA\t1\nchr1\t100\t130\tA\t1\nchr2\t10\t20\tA\t1\n")
    with pytest.warns(UserWarning, match=r"2 fragment\(s\) start at or past the end of their chromosome.*"
                                         r"first: line 2, chr1:150-160 \(chr1 has length 100\)"):
        a = fragcov.import_fragments(f, {"chr1": 100, "chr2": 100}, min_num_fragments=0)
    m = a.obsm["fragment_paired"]
    assert m.indices.tolist() == [10, 110] and m.data.tolist() == [10, 10]  # chr1:10, chr2:10 only
    assert a.obs["n_fragment"].tolist() == [2]

    with pytest.warns(UserWarning, match="2 fragment"):
        tracks = fragcov.export_coverage(f, {"A": "g"}, chrom_sizes={"chr1": 100, "chr2": 100}, bin_size=1,
                                         normalization=None, suffix=".bedgraph", out_dir=tmp_path / "out")
    assert Path(tracks["g"]).read_text() == "chr1\t10\t20\t1\nchr2\t10\t20\t1\n"


@pytest.mark.parametrize("value", ["1e1", "10.0", "-5", "+5", " 5", ""])
def test_non_integer_coordinates_are_errors_in_every_file(tmp_path, value):
    """'1e5' used to be read as 100000 in a file without comments and rejected in one with."""
    sizes = {"chr1": 100}
    for header in ("", "# comment\n"):
        f = tmp_path / "frags.tsv"
        f.write_text(f"{header}chr1\t10\t20\tA\t1\nchr1\t{value}\t30\tA\t1\n")
        line = 3 if header else 2
        with pytest.raises(ValueError, match=rf"frags.tsv: line {line}: start and end must be non-negative "
                                             r"base-10 integers"):
            fragcov.import_fragments(f, sizes, min_num_fragments=0)
        with pytest.raises(ValueError, match=rf"line {line}: start and end"):
            fragcov.export_coverage(f, {"A": "g"}, chrom_sizes=sizes, out_dir=tmp_path / "out")
        out = tmp_path / "out"
        assert not out.exists() or not any(out.iterdir())  # no track, not even a temporary one


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
@pytest.mark.filterwarnings("ignore:.*line.s. on chromosomes not in chrom_sizes were skipped")  # on purpose
def test_h5ad_mode_follows_the_umask(tmp_path, mask):
    """import_fragments(file=...) used to leave its .h5ad with mode 0600 whatever the umask."""
    old = os.umask(mask)
    try:
        out = tmp_path / "x.h5ad"
        a = fragcov.import_fragments(IMPORT_DATA / "edge.tsv", {"chr1": 500, "chr2": 1000}, file=out,
                                     min_num_fragments=0)
        a.file.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["x.h5ad"]


def test_shifts_equal_a_shifted_file(tmp_path):
    """shift_left/shift_right give what the same file with shifted coordinates gives."""
    text = gzip.decompress((IMPORT_DATA / "pbmc_sub.tsv.gz").read_bytes()).decode()
    shifted = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        c, s, e, *rest = line.split("\t")
        s, e = int(s) + 4, int(e) - 5
        if e > s:
            shifted.append("\t".join([c, str(s), str(e), *rest]))
    f = tmp_path / "shifted.tsv"
    f.write_text("\n".join(shifted) + "\n")
    sizes = IMPORT_DATA / "pbmc_sub.chrom.sizes"
    a = fragcov.import_fragments(IMPORT_DATA / "pbmc_sub.tsv.gz", sizes, shift_left=4, shift_right=-5)
    b = fragcov.import_fragments(f, sizes)
    assert list(a.obs_names) == list(b.obs_names)
    for key in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(a.obsm["fragment_paired"], key),
                                      getattr(b.obsm["fragment_paired"], key))
    pd.testing.assert_frame_equal(a.obs, b.obs)


def test_shifted_away_fragments_are_counted_in_a_warning(tmp_path):
    f = tmp_path / "frags.tsv"
    f.write_text("chr1\t10\t60\tA\t1\nchr1\t10\t18\tA\t1\nchr1\t2\t60\tA\t1\nchr1\t20\t29\tA\t1\n")
    with pytest.warns(UserWarning, match=r"2 fragment\(s\) were dropped because shift_left=4, shift_right=-5.*"
                                         r"first: line 2"):
        a = fragcov.import_fragments(f, {"chr1": 100}, shift_left=4, shift_right=-5, min_num_fragments=0)
    # line 1 -> [14, 55), line 3 -> [6, 55); lines 2 and 4 -> length -1 and 0
    assert a.obsm["fragment_paired"].indices.tolist() == [6, 14]
    assert a.obsm["fragment_paired"].data.tolist() == [49, 41]


# --------------------------------------------------------------------------
# The written .h5ad
# --------------------------------------------------------------------------


def test_atomic_output_names_and_removes_its_temporary(tmp_path):
    target = tmp_path / "result.h5ad"
    with atomic_output(target) as tmp:
        assert re.fullmatch(r"\.result\.h5ad\.fragcov-[A-Za-z0-9]{6}", tmp.name) and tmp.parent == tmp_path
        assert tmp.exists() and not target.exists()
        tmp.write_text("done")
    assert target.read_text() == "done" and [p.name for p in tmp_path.iterdir()] == ["result.h5ad"]
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(tmp_path / "other.h5ad") as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["result.h5ad"]


def test_spilling_sort_matches_snapatac2(tmp_path):
    """Unsorted input through the sort files (memory budget of one buffer) gives SnapATAC2's cells."""
    sizes = sorted(read_chrom_sizes(IMPORT_DATA / "pbmc_sub.chrom.sizes"))
    cells = _core.FragmentImporter(
        str(IMPORT_DATA / "pbmc_sub_shuffled.tsv.gz"), chrom_names=[c for c, _ in sizes],
        chrom_lengths=[n for _, n in sizes], is_mito=[c == "chrM" for c, _ in sizes], sorted_by_barcode=False,
        min_num_fragments=1000, tempdir=str(tmp_path), n_threads=2, max_cells_per_batch=3,
        memory_budget_bytes=1)
    from fragcov._fragment_file import reader_settings
    from fragcov._h5ad_fragments import to_anndata

    a = to_anndata(cells, reader_settings(IMPORT_DATA / "pbmc_sub.chrom.sizes"))
    assert_matches(a, "paired_unsorted")
    assert list(tmp_path.iterdir()) == []  # the sort file is gone


def _snapatac2():
    snap = pytest.importorskip("snapatac2")
    if snap.__version__ != "2.9.0":
        pytest.skip(f"needs snapatac2 2.9.0, found {snap.__version__}")
    return snap


def test_snapatac2_reads_and_exports_our_h5ad(tmp_path):
    snap = _snapatac2()
    # no edge lines: SnapATAC2 panics on a fragment starting at a chromosome's end
    frags = write_fragments(tmp_path / "frags.tsv.gz", "bgzf", edges=False)
    ours = tmp_path / "ours.h5ad"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fragcov.import_fragments(frags, SIZES, file=ours, sorted_by_barcode=False).file.close()
    theirs = tmp_path / "theirs.h5ad"
    sizes = dict(read_chrom_sizes(SIZES))
    snap.pp.import_fragments(frags, sizes, file=theirs, sorted_by_barcode=False).close()
    outputs = {}
    for name, path in (("ours", ours), ("theirs", theirs)):
        d = snap.read(path, backed="r+")
        labels = pd.Series(groups_table()).reindex(list(d.obs_names)).to_numpy(dtype=object)
        assert d.obsm["fragment_paired"].shape[0] == d.n_obs
        d.obs["group"] = [str(x) for x in labels]
        outputs[name] = snap.ex.export_coverage(d, groupby="group", suffix=".bedgraph", bin_size=10,
                                                out_dir=str(tmp_path / name), n_jobs=1)
        d.close()
    assert set(outputs["ours"]) == set(outputs["theirs"])
    for group, path in outputs["ours"].items():
        assert Path(path).read_bytes() == Path(outputs["theirs"][group]).read_bytes(), group
    import anndata as ad

    a, b = ad.read_h5ad(ours), ad.read_h5ad(theirs)
    assert list(a.obs_names) == list(b.obs_names)
    pd.testing.assert_frame_equal(a.obs, b.obs, check_names=False)  # SnapATAC2 names its index "index"
    for key in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(a.obsm["fragment_paired"], key),
                                      getattr(b.obsm["fragment_paired"], key))


# 6M lines in any barcode order, in argv[1]/frags.tsv.gz, then READY: the script's work starts
_SIX_MILLION_LINES = """
import gzip, sys
import fragcov
block = "".join(f"chr1\\t{100 * i}\\t{100 * i + 50}\\tBC{i % 997}-1\\t1\\n" for i in range(1000))
with gzip.open(sys.argv[1] + "/frags.tsv.gz", "wt", compresslevel=1) as fh:
    fh.write(block * 6000)
"""

INTERRUPT_SCRIPT = _SIX_MILLION_LINES + """
print("READY", flush=True)
fragcov.import_fragments(sys.argv[1] + "/frags.tsv.gz", {"chr1": 10**6}, file=sys.argv[1] + "/out.h5ad",
                         sorted_by_barcode=False, min_num_fragments=0, tempdir=sys.argv[1])
print("DONE", flush=True)
"""


def test_ctrl_c_stops_an_import_and_leaves_nothing(tmp_path):
    """SIGINT while the C++ reader works (GIL released) ends the import promptly; no file is left."""
    interrupt_at_gate(INTERRUPT_SCRIPT, [tmp_path], gate="fragment reader", tmp_path=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frags.tsv.gz"]


def test_file_result_keeps_the_matrix_on_disk(tmp_path):
    """import_fragments(file=...) returns a backed AnnData whose obsm is read lazily (memory stays flat)."""
    out = tmp_path / "x.h5ad"
    a = fragcov.import_fragments(IMPORT_DATA / "pbmc_sub.tsv.gz", IMPORT_DATA / "pbmc_sub.chrom.sizes", file=out)
    try:
        m = a.obsm["fragment_paired"]
        assert a.isbacked and not hasattr(m, "indptr")  # a lazy dataset, not a scipy matrix
        assert_matches(a, "paired_default")
        assert (a[2:5].obsm["fragment_paired"] != m.to_memory()[2:5]).nnz == 0
        tracks = fragcov.export_coverage(a, list(a.obs_names), out_dir=tmp_path / "t", suffix=".bedgraph")
        assert len(tracks) == a.n_obs
    finally:
        a.file.close()


def test_fragment_file_argument_errors(tmp_path):
    frags = DEMO / "fragments.tsv.gz"
    out = tmp_path / "out"
    with pytest.raises(TypeError, match="groupby must map barcodes to groups"):
        fragcov.export_coverage(frags, ["CD4 Naive"] * 60, chrom_sizes=SIZES, out_dir=out)
    with pytest.raises(FileNotFoundError, match="groups table not found: 'cell_type'"):
        fragcov.export_coverage(frags, "cell_type", chrom_sizes=SIZES, out_dir=out)
    with pytest.raises(ValueError, match="has more than one group"):
        fragcov.export_coverage(frags, pd.Series(["a", "b"], index=["AAA-1", "AAA-1"]), chrom_sizes=SIZES,
                                out_dir=out)
    with pytest.raises(ValueError, match="needs chrom_sizes"):
        fragcov.export_coverage(frags, GROUPS, out_dir=out)
    with pytest.raises(ValueError, match="shift_left must lie between"):
        fragcov.export_coverage(frags, GROUPS, chrom_sizes=SIZES, shift_left=2**40, out_dir=out)
    adata = fragcov.import_fragments(frags, SIZES)
    with pytest.raises(ValueError, match="chrom_sizes, shift_left only apply when adata is a fragment file"):
        fragcov.export_coverage(adata, list(adata.obs_names), chrom_sizes=SIZES, shift_left=4, out_dir=out)
    assert not out.exists()


def test_reader_bindings_take_their_options_by_keyword():
    """docs/spec.md 11.9: the bindings of the reader take every option by keyword, so no call site passes a
    row of bare True, 0, 1 << 30 (issue #20)."""
    sizes = sorted(read_chrom_sizes(IMPORT_DATA / "pbmc_sub.chrom.sizes"))
    names, lengths = [c for c, _ in sizes], [n for _, n in sizes]
    path = str(IMPORT_DATA / "pbmc_sub_shuffled.tsv.gz")
    with pytest.raises(TypeError):
        _core.FragmentImporter(path, names, lengths, [False] * len(names), True, False, None, 0, 0, 0, "", 1,
                               3, 1 << 20)
    with pytest.raises(TypeError):
        _core.FragmentFiles([(path, "", ["x"], np.zeros(1, np.int32))], names, lengths, [False] * len(names),
                            np.zeros(1, np.int32))
    with pytest.raises(TypeError):
        _core.count_fragments(path, names, lengths, [False] * len(names), ["x"], True, 0, 0, 1)
    # named, with the C++ structs' defaults for the rest
    counts, stats = _core.count_fragments(path, chrom_names=names, chrom_lengths=lengths,
                                          is_mito=[False] * len(names), barcodes=["x"])
    assert list(counts) == [0] and stats["stored"] > 0


def test_import_defaults_have_one_home():
    """The CLI's import-fragments defaults are import_fragments' signature; the export's memory budget is the
    core's ExportOptions default (issue #20)."""
    import inspect

    from fragcov import _settings
    from fragcov._cli import build_parser

    sig = {k: v.default for k, v in inspect.signature(fragcov.import_fragments).parameters.items()}
    a = build_parser().parse_args(["import-fragments", "f.tsv", "--chrom-sizes", "hg38", "--output", "o.h5ad"])
    assert a.min_num_fragments == sig["min_num_fragments"]
    assert tuple(a.chrm) == tuple(sig["chrM"])
    assert (a.n_jobs, a.shift_left, a.shift_right) == (sig["n_jobs"], sig["shift_left"], sig["shift_right"])
    assert _settings.memory_budget_bytes == _core.ExportOptions().memory_budget_bytes
    source = inspect.getsource(_settings)
    assert source.count("memory_budget_bytes =") == 1


# --------------------------------------------------------------------------
# Parsing on n_jobs threads (docs/spec.md 8.1.1)
# --------------------------------------------------------------------------

PIECE = 4 << 20  # the reader cuts the decompressed text into blocks of about this size


def big_fragment_lines(n: int = 400_000, seed: int = 3) -> list[str]:
    """n lines on the demo genome: the groups table's barcodes in runs and barcodes it lacks, comments, and
    in the last 40% (later blocks: the warnings' first lines are counted across blocks) zero-length,
    unknown-chromosome, past-the-end and (with shifts 4/-5) shifted-away fragments."""
    rng = np.random.default_rng(seed)
    table = list(groups_table())
    barcodes = np.array(table + [f"OTHER{i}-1" for i in range(15)], dtype=object)
    sizes = dict(read_chrom_sizes(SIZES))
    early = np.arange(n) < int(n * 0.6)
    chroms = np.array(["chr21", "chr22", "chrM", "chrUn"], dtype=object)
    chrom = chroms[np.where(early, rng.choice(2, n), rng.choice(4, n, p=[0.5, 0.45, 0.04, 0.01]))]
    limit = np.array([sizes.get(c, 1000) for c in chrom]) + np.where(early, -1000, 500)
    start = (rng.random(n) * limit).astype(np.int64)
    length = np.where(~early & (rng.random(n) < 0.02), rng.integers(0, 10, n), rng.integers(20, 700, n))
    run = np.repeat(rng.integers(0, len(barcodes), n // 10 + 1), rng.integers(1, 20, n // 10 + 1))[:n]
    barcode = barcodes[np.resize(run, n)]
    count = rng.integers(1, 5, n)
    lines = [f"{c}\t{s}\t{s + ln}\t{b}\t{k}" for c, s, ln, b, k in zip(chrom, start, length, barcode, count)]
    for i in range(0, n, 50_000):
        lines[i] = "# a comment line"
    return lines


def bgzf_file(path: Path, lines: list[str]) -> Path:
    text = ("\n".join(lines) + "\n").encode()
    assert len(text) > 3 * PIECE  # several blocks
    path.write_bytes(bgzip_bytes(text))
    return path


def test_tracks_and_warnings_do_not_depend_on_the_parse_threads(tmp_path):
    path = bgzf_file(tmp_path / "big.tsv.gz", big_fragment_lines())
    opts = dict(chrom_sizes=SIZES, shift_left=4, shift_right=-5, bin_size=50)
    results = {}
    for n_jobs in (1, 2, 3, 8):
        for suffix, extra in ((".bw", dict(min_num_fragments=100)), (".bedgraph", dict(normalization="CPM"))):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                tracks = fragcov.export_coverage(path, GROUPS, out_dir=tmp_path / f"{n_jobs}{suffix}",
                                                 suffix=suffix, n_jobs=n_jobs, **opts, **extra)
            results[n_jobs, suffix] = ({g: Path(p).read_bytes() for g, p in tracks.items()},
                                       [str(w.message) for w in caught])
    for (n_jobs, suffix), (tracks, messages) in results.items():
        expected_tracks, expected_messages = results[1, suffix]
        assert tracks == expected_tracks, (n_jobs, suffix)
        assert messages == expected_messages, (n_jobs, suffix)
    _, messages = results[1, ".bw"]
    first = [int(m.split("(first: line ")[1].split(",")[0].split(")")[0]) for m in messages if "(first: line" in m]
    assert len(first) == 2 and min(first) > 240_000, messages  # past the end, shifted away: in a later block
    # and n_jobs=1's tracks are the model's (computed with pandas from the text)
    expected = model_tracks(path, is_paired=True, shift_left=4, shift_right=-5, bin_size=50, normalization="CPM")
    for group, data in results[1, ".bedgraph"][0].items():
        track = tmp_path / "check.bedgraph"
        track.write_bytes(data)
        assert_tracks_equal(read_track(track), expected[group], label=group)


@pytest.mark.parametrize("where", ["deep", "two bad lines"])
def test_a_malformed_line_deep_in_the_file_gives_one_message_whatever_n_jobs(tmp_path, where):
    lines = big_fragment_lines(330_000)
    bad = len(lines) - 2000  # in the last block
    lines[bad - 1] = "chr22\t1e5\t100200\tAACAGCGTGTACAACC-1\t1"
    if where == "two bad lines":  # a later block's bad line is found first; the earlier one is reported
        bad = 190_000
        lines[bad - 1] = "chr21\t500\t400\tAACAGCGTGTACAACC-1\t1"
        lines[250_000] = "chr21\t-1\t400\tAACAGCGTGTACAACC-1\t1"
    path = bgzf_file(tmp_path / "bad.tsv.gz", lines)
    messages = {}
    for n_jobs in (1, 4):
        with pytest.raises(ValueError) as err:
            fragcov.export_coverage(path, GROUPS, chrom_sizes=SIZES, out_dir=tmp_path / f"o{n_jobs}", n_jobs=n_jobs,
                                    min_num_fragments=None if where == "deep" else 10)
        messages[n_jobs] = str(err.value)
        assert not list((tmp_path / f"o{n_jobs}").glob("*.bw"))
    assert messages[1] == messages[4]
    shown = lines[bad - 1].replace("\t", "\\t")
    assert messages[1].startswith(f"{path}: line {bad}: ") and messages[1].endswith(f": '{shown}'"), messages[1]


def test_import_with_a_whitelist_does_not_depend_on_the_parse_threads(tmp_path):
    path = bgzf_file(tmp_path / "big.tsv.gz", big_fragment_lines(300_000, seed=5))
    whitelist = list(groups_table())[:40]
    results = []
    for n_jobs in (1, 4):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            adata = fragcov.import_fragments(path, SIZES, whitelist=whitelist, min_num_fragments=10,
                                             sorted_by_barcode=False, n_jobs=n_jobs)
        results.append(adata)
    a, b = results
    assert a.n_obs > 20 and list(a.obs_names) == list(b.obs_names)
    pd.testing.assert_frame_equal(a.obs, b.obs)
    for key in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(a.obsm["fragment_paired"], key), getattr(b.obsm["fragment_paired"], key))


EXPORT_INTERRUPT_SCRIPT = _SIX_MILLION_LINES + """
groups = {f"BC{i}-1": f"g{i % 3}" for i in range(997)}
print("READY", flush=True)
fragcov.export_coverage(sys.argv[1] + "/frags.tsv.gz", groups, chrom_sizes={"chr1": 10**6}, n_jobs=4,
                        min_num_fragments=int(sys.argv[2]), out_dir=sys.argv[1] + "/out", suffix=".bedgraph")
print("DONE", flush=True)
"""


@pytest.mark.parametrize("min_num_fragments", [0, 5])  # 5: the signal comes in the counting pass
def test_ctrl_c_stops_an_export_parsed_on_several_threads(tmp_path, min_num_fragments):
    """SIGINT while the reader's parse threads work (docs/spec.md 8.1.1, 6.5) ends the export promptly: the
    threads stop and are joined, no track is left."""
    out = tmp_path / "out"
    interrupt_at_gate(EXPORT_INTERRUPT_SCRIPT, [tmp_path, min_num_fragments], gate="fragment reader", tmp_path=tmp_path)
    assert not out.exists() or not list(out.iterdir())
