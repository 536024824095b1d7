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
from helpers import assert_tracks_equal, read_chrom_sizes, read_fragments, read_track
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
        str(IMPORT_DATA / "pbmc_sub_shuffled.tsv.gz"), [c for c, _ in sizes], [n for _, n in sizes],
        [c == "chrM" for c, _ in sizes], True, False, None, 1000, 0, 0, str(tmp_path), 2, 3, 1 << 20,
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


INTERRUPT_SCRIPT = """
import gzip, sys
import fragcov
block = "".join(f"chr1\\t{100 * i}\\t{100 * i + 50}\\tBC{i % 997}-1\\t1\\n" for i in range(1000))
with gzip.open(sys.argv[1] + "/frags.tsv.gz", "wt", compresslevel=1) as fh:
    fh.write(block * 6000)  # 6M lines in any barcode order: read, sorted, merged
print("READY", flush=True)
fragcov.import_fragments(sys.argv[1] + "/frags.tsv.gz", {"chr1": 10**6}, file=sys.argv[1] + "/out.h5ad",
                         sorted_by_barcode=False, min_num_fragments=0, tempdir=sys.argv[1])
print("DONE", flush=True)
"""


def test_ctrl_c_stops_an_import_and_leaves_nothing(tmp_path):
    """SIGINT while the C++ reader works (GIL released) ends the import promptly; no file is left."""
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-c", INTERRUPT_SCRIPT, str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "READY"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    if "DONE" in stdout:
        pytest.skip("the import finished before the signal arrived (machine too fast)")
    assert proc.returncode != 0 and "KeyboardInterrupt" in stderr, stderr[-2000:]
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
