"""Groups tables are read by our own strict reader (docs/spec.md 10.1.2), and the samples of several
fragment files follow one rule in export_coverage, compare_groups and import_fragments (13.6.2, 8.20).

The tables here are written by hand, byte by byte; the expectation of an accepted table is the same
export from a dict {barcode: group} holding what the table means (compared as file bytes), and every
refused table is one ValueError naming the file and the line, before anything is written.
"""
from __future__ import annotations

import contextlib
import gzip
import os
import re
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fragcov
from fragcov._groups import read_groups_table
from fragcov._notices import FragcovWarning
from fragcov.demo import DEMO
from test_atlas import SAMPLES, write_samples

SIZES = DEMO / "chrom.sizes"


def demo_groups() -> dict[str, str]:
    return dict(line.split("\t") for line in (DEMO / "groups.tsv").read_text().splitlines() if line)


def export(groupby, out, adata=DEMO / "fragments.tsv.gz", **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FragcovWarning)
        return fragcov.export_coverage(adata, groupby, out_dir=out, chrom_sizes=SIZES, bin_size=100,
                                       suffix=".bedgraph", **kw)


def file_bytes(result: dict) -> dict:
    return {k: Path(p).read_bytes() for k, p in result.items()}


def written(path) -> list[str]:
    return sorted(os.listdir(path)) if os.path.exists(path) else []


# ---- what a table means ------------------------------------------------------------------

def test_a_quote_is_an_ordinary_character_and_never_swallows_lines(tmp_path):
    """CSV rules would read '"CD4' as the start of a quoted field running over the next lines."""
    groups = demo_groups()
    barcodes = list(groups)
    quoted = {b: ('"' + g if i % 3 == 0 else g + '"' if i % 3 == 1 else g) for i, (b, g) in enumerate(groups.items())}
    table = tmp_path / "groups.tsv"
    table.write_bytes("".join(f"{b}\t{g}\n" for b, g in quoted.items()).encode())
    t = read_groups_table(table)
    assert list(t.index) == barcodes and list(t["group"]) == list(quoted.values())
    assert file_bytes(export(table, tmp_path / "t")) == file_bytes(export(quoted, tmp_path / "d"))


def test_header_bom_crlf_comments_blank_lines_and_gzip(tmp_path):
    groups = demo_groups()
    body = "\ufeffBarcode\tcell type\tdepth\r\n# a comment\r\n\r\n" + "".join(
        f"{b}\t{g}\t{i}\r\n" for i, (b, g) in enumerate(groups.items()))
    table = tmp_path / "groups.tsv.gz"
    table.write_bytes(gzip.compress(body.encode()))
    t = read_groups_table(table)
    assert t.index.name == "Barcode" and list(t.columns) == ["cell type", "depth"]
    assert dict(zip(t.index, t["cell type"])) == groups
    assert list(t["depth"]) == [str(i) for i in range(len(groups))]


def test_empty_fields_are_missing_and_a_sample_prefixed_hash_is_text(tmp_path):
    table = tmp_path / "g.tsv"
    table.write_text("#comment\nA#1\tx\t\nB\t\t7\n")
    t = read_groups_table(table)
    assert list(t.index) == ["A#1", "B"]
    assert t.loc["A#1", "3"] is None and t.loc["B", "group"] is None and t.loc["B", "3"] == "7"


@pytest.mark.parametrize("content,line,pattern", [
    (b"AAA\tx\nBB\0B\ty\n", 2, r"control character"),
    (b"AAA\tx\nBBB\ty\x1b[31m\n", 2, r"control character"),
    (b"AAA\tx\nBBB\ty\rz\n", 2, r"control character"),
    (b"AAA\tx\tp\nBBB\ty\n", 2, r"1 field|2 tab-separated field"),
    (b"AAA\tx\nBBB\ty\tz\n", 2, r"3 tab-separated field"),
    (b"barcode\tgroup\nAAA\tx\nBBB\n", 3, r"1 tab-separated field"),
    (b"AAA\tx\nBBB\t\xff\xfe\n", 2, r"not UTF-8"),
    (b"AAA\tx\n\ty\n", 2, r"barcode \(column 1\) is empty"),
    (b"AAA\tx\nCCC\ty\nAAA\tz\n", 3, r"'AAA' is listed again \(first on line 1\)"),
    (b"AAA\n", 1, r"at least two tab-separated columns"),
    (b"barcode\tgroup\tgroup\nAAA\tx\ty\n", 1, r"names column 'group' twice"),
    (b"A" * (2 << 20), 1, r"longer than 1 MiB"),
])
def test_a_bad_line_is_one_error_naming_the_file_and_line(tmp_path, content, line, pattern):
    table = tmp_path / "bad groups.tsv"
    table.write_bytes(content)
    with pytest.raises(ValueError) as err:
        read_groups_table(table)
    assert f"bad groups.tsv: line {line}" in str(err.value) and re.search(pattern, str(err.value)), err.value
    with pytest.raises(ValueError, match=rf"bad groups\.tsv: line {line}\b"):
        export(table, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content,pattern", [
    (b"", r"is empty"),
    (b"# only a comment\n\n", r"is empty"),
    (b"\x89HDF\r\n\x1a\nrest", r"HDF5"),
])
def test_tables_without_rows_or_of_another_kind(tmp_path, content, pattern):
    table = tmp_path / "g.tsv"
    table.write_bytes(content)
    with pytest.raises(ValueError, match=pattern):
        export(table, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_folder_or_a_pipe_as_table_is_refused_naming_it(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"groups table '.*' is a folder"):
        export(tmp_path, tmp_path / "out")
    fifo = tmp_path / "groups.fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"groups table '.*groups\.fifo' is a pipe"):
        export(fifo, tmp_path / "out")  # refused without opening it: no writer is needed, nothing hangs
    assert not (tmp_path / "out").exists()


def test_dict_barcodes_with_control_characters_are_refused(tmp_path):
    with pytest.raises(ValueError, match="control character"):
        export({"AAC\nGT": "x"}, tmp_path / "out")
    with pytest.raises(TypeError, match="barcodes must be strings"):
        export({1: "x"}, tmp_path / "out")


# ---- split_by / norm_by by barcode (spec 13.2) -------------------------------------------

def test_split_by_and_norm_by_as_dict_or_series_equal_the_table_columns(tmp_path):
    groups = demo_groups()
    rng = np.random.default_rng(1)
    split = {b: ("d1" if rng.random() < 0.5 else "d2") for b in groups}
    depth = {b: int(rng.integers(1, 500)) for b in groups}
    table = tmp_path / "g.tsv"
    table.write_text("barcode\tcell_type\tdonor\tdepth\n" + "".join(
        f"{b}\t{g}\t{split[b]}\t{depth[b]}\n" for b, g in groups.items()))
    by_column = export(table, tmp_path / "c", split_by="donor", norm_by="depth", normalization=None)
    by_dict = export(groups, tmp_path / "d", split_by=split, norm_by=depth, normalization=None)
    by_series = export(pd.Series(groups), tmp_path / "s", split_by=pd.Series(split),
                       norm_by=pd.Series(depth), normalization=None)
    assert len(by_column) >= 4
    assert file_bytes(by_dict) == file_bytes(by_column) == file_bytes(by_series)


def test_norm_by_missing_for_an_exported_cell_is_an_error(tmp_path):
    groups = demo_groups()
    depth = {b: 5 for b in list(groups)[1:]}
    with pytest.raises(ValueError, match="norm_by is nan for cell"):
        export(groups, tmp_path / "o", norm_by=depth, normalization=None)
    assert not (tmp_path / "o").exists()


# ---- samples: one rule for export_coverage, compare_groups and import_fragments -----------

def _two_samples(tmp_path):
    paths, _ = write_samples(tmp_path / "in")
    return {s: paths[s] for s in SAMPLES[:2]}


def test_the_same_barcode_in_two_samples_is_two_cells_with_a_sample_column(tmp_path):
    """A table with a sample column lists a barcode once per sample: accepted by export, compare and
    import; the result equals the same table written sample#barcode."""
    paths = _two_samples(tmp_path)
    groups = demo_groups()
    rows = [(s, b, g if s == "s1" else "other") for s in paths for b, g in groups.items()]
    with_column = tmp_path / "with_column.tsv"
    with_column.write_text("barcode\tcell_type\tsample\n" + "".join(f"{b}\t{g}\t{s}\n" for s, b, g in rows))
    prefixed = tmp_path / "prefixed.tsv"
    prefixed.write_text("barcode\tcell_type\n" + "".join(f"{s}#{b}\t{g}\n" for s, b, g in rows))
    a = export(with_column, tmp_path / "a", adata=paths)
    b = export(prefixed, tmp_path / "b", adata=paths)
    assert file_bytes(a) == file_bytes(b) and len(a) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FragcovWarning)
        c1 = fragcov.compare_groups(paths, with_column, out_dir=tmp_path / "c1", chrom_sizes=SIZES, bin_size=100,
                                    suffix=".bedgraph")
        c2 = fragcov.compare_groups(paths, prefixed, out_dir=tmp_path / "c2", chrom_sizes=SIZES, bin_size=100,
                                    suffix=".bedgraph")
        imported = fragcov.import_fragments(paths, SIZES, groups=with_column, min_num_fragments=0)
    assert file_bytes(c1) == file_bytes(c2)
    expect = {f"{s}#{b}": g for s, b, g in rows}
    got = imported.obs["cell_type"].astype(object)
    for name in imported.obs_names:
        assert got[name] == expect.get(name)
    assert (imported.obs["sample"].astype(str) == [n.split("#")[0] for n in imported.obs_names]).all()


def test_a_row_naming_an_unknown_sample_is_an_error_in_export_and_import(tmp_path):
    paths = _two_samples(tmp_path)
    b = next(iter(demo_groups()))
    for body in (f"barcode\tgroup\tsample\n{b}\tx\ts9\n", f"s9#{b}\tx\n"):
        table = tmp_path / "t.tsv"
        table.write_text(body)
        with pytest.raises(ValueError, match="s9"):
            export(table, tmp_path / "out", adata=paths)
        with pytest.raises(ValueError, match="s9"):
            fragcov.import_fragments(paths, SIZES, groups=table, file=tmp_path / "x.h5ad", min_num_fragments=0)
        assert not (tmp_path / "out").exists() and not (tmp_path / "x.h5ad").exists()


def test_sample_names_holding_the_separator_resolve_the_same_in_export_and_import(tmp_path):
    """Samples 'a#b' and 'c': a cell written 'a#b#BARCODE' belongs to sample 'a#b' (the known names
    decide, not the first '#'), in both functions."""
    src = _two_samples(tmp_path)
    paths = {"a#b": src["s1"], "c": src["s2"]}
    groups = demo_groups()
    table = tmp_path / "t.tsv"
    table.write_text("".join(f"a#b#{b}\t{g}\n" for b, g in groups.items()) +
                     "".join(f"c#{b}\tlate\n" for b in groups))
    exported = export(table, tmp_path / "e", adata=paths)
    merged_text = "".join(
        "\t".join(f[:3] + [f"{s}#{f[3]}"] + f[4:]) + "\n"
        for s, p in paths.items() for f in (line.split("\t") for line in _text(p).splitlines()
                                            if line and not line.startswith("#")))
    merged = tmp_path / "merged.tsv"
    merged.write_text(merged_text)
    single = export(table, tmp_path / "m", adata=merged)
    assert file_bytes(exported) == file_bytes(single)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FragcovWarning)
        imported = fragcov.import_fragments(paths, SIZES, groups=table, min_num_fragments=0)
    names = list(imported.obs_names)
    assert all(n.startswith(("a#b#", "c#")) for n in names)
    samples = imported.obs["sample"].astype(str)
    assert all(samples[n] == ("a#b" if n.startswith("a#b#") else "c") for n in names)
    groups_of = imported.obs["group"].astype(object)
    assert all(groups_of[n] == (groups[n[4:]] if n.startswith("a#b#") else "late") for n in names)


def _text(path) -> str:
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode()


def test_a_stream_cannot_be_read_twice_for_min_num_fragments(tmp_path):
    fifo = tmp_path / "frag.fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"stream.*read only once"):
        export(demo_groups(), tmp_path / "out", adata=fifo, min_num_fragments=10)
    assert not (tmp_path / "out").exists()


@contextlib.contextmanager
def fed_fifo(path, data: bytes):
    """A named pipe at `path` that a thread fills with `data` once a reader opens it; if nobody reads
    it, leaving the block opens it for reading so that the writer never waits forever."""
    os.mkfifo(path)

    def feed():
        try:
            with open(path, "wb") as fh:
                fh.write(data)
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        yield path
    finally:
        if writer.is_alive():
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            os.close(fd)
        writer.join()


def test_a_fifo_fragment_file_equals_the_file(tmp_path):
    with fed_fifo(tmp_path / "frag.fifo", (DEMO / "fragments.tsv.gz").read_bytes()) as fifo:
        from_fifo = export(demo_groups(), tmp_path / "f", adata=fifo)
    assert file_bytes(from_fifo) == file_bytes(export(demo_groups(), tmp_path / "d"))
