"""Several fragment files in one export (docs/spec.md 13.6) and the table-vs-file barcode match report
(13.7).

The reference for N files is the single-file path, itself tested against import + export and the
numpy model (test_fragment_files.py): the same fragments in one file whose barcodes are written
``sample#barcode`` must give the same tracks, byte for byte. The data is made here from the bundled
demo (python/fragcov/data/demo): its lines are dealt to three samples, so every barcode occurs in
several samples (ArchR's colliding barcodes) with different fragments.
"""
from __future__ import annotations

import gzip
import warnings

import numpy as np
import pandas as pd
import pytest

import fragcov
from fragcov._cli import main
from fragcov._notices import FragcovWarning
from fragcov.demo import DEMO
from test_import_fragments import bgzip_bytes
from pathlib import Path

SIZES = DEMO / "chrom.sizes"
SAMPLES = ("s1", "s2", "s3")


def _lines():
    return gzip.decompress(Path(DEMO / "fragments.tsv.gz").read_bytes()).decode().splitlines()


def _groups() -> dict[str, str]:
    return dict(line.split("\t") for line in (DEMO / "groups.tsv").read_text().splitlines() if line)


def write_samples(folder, *, disjoint=False):
    """Three sample files (s1 plain gzip, s2 BGZF, s3 plain text without chr22: the files' chromosome
    sets differ) and merged.tsv.gz: all their lines, barcodes written sample#barcode. disjoint: each
    barcode in one sample only."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = _lines()
    barcodes = sorted({line.split("\t")[3] for line in lines})
    home = {b: SAMPLES[i % 3] for i, b in enumerate(barcodes)}
    per = {s: [] for s in SAMPLES}
    for i, line in enumerate(lines):
        b = line.split("\t")[3]
        s = home[b] if disjoint else SAMPLES[i % 3]
        if s == "s3" and line.startswith("chr22\t"):
            continue
        per[s].append(line)
    paths = {"s1": folder / "s1.tsv.gz", "s2": folder / "s2.tsv.gz", "s3": folder / "s3.tsv"}
    with gzip.open(paths["s1"], "wt") as fh:
        fh.write("# Cell Ranger style header\n" + "\n".join(per["s1"]) + "\n")
    paths["s2"].write_bytes(bgzip_bytes(("\n".join(per["s2"]) + "\n").encode()))
    paths["s3"].write_text("\n".join(per["s3"]) + "\n")
    merged = []
    for s in SAMPLES:
        for line in per[s]:
            f = line.split("\t")
            f[3] = f[3] if disjoint else f"{s}#{f[3]}"
            merged.append("\t".join(f))
    with gzip.open(folder / "merged.tsv.gz", "wt") as fh:
        fh.write("\n".join(merged) + "\n")
    return paths, folder / "merged.tsv.gz"


def table_file(path, *, sample_column=False, prefixed=True):
    """A groups table of every (sample, barcode): group per sample (so samples differ), a depth column
    for norm_by, and optionally a sample column."""
    rng = np.random.default_rng(7)
    rows = []
    for k, s in enumerate(SAMPLES):
        for b, g in _groups().items():
            if rng.random() < 0.15:
                continue  # not every barcode is a cell of every sample
            name = f"{s}#{b}" if prefixed else b
            rows.append([name, g if k != 2 else "late", str(int(rng.integers(100, 1000))), s])
    header = ["barcode", "cell_type", "depth"] + (["sample"] if sample_column else [])
    with open(path, "w") as fh:
        fh.write("\t".join(header) + "\n")
        for r in rows:
            fh.write("\t".join(r[:len(header)]) + "\n")
    return path


def tracks_bytes(result: dict) -> dict:
    return {k: Path(p).read_bytes() for k, p in result.items()}


def export(inputs, groups, out, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FragcovWarning)
        if not isinstance(inputs, fragcov_anndata()):
            kw["chrom_sizes"] = SIZES
        return fragcov.export_coverage(inputs, groups, out_dir=out, **kw)


def fragcov_anndata():
    import anndata

    return anndata.AnnData


CASES = [
    dict(),
    dict(n_jobs=1),
    dict(n_jobs=3, bin_size=50, normalization="CPM"),
    dict(ceiling=1, bin_size=100),
    dict(max_cells=6, random_state=3, normalization="n_cells"),
    dict(norm_by="depth", normalization=None, suffix=".bedgraph.gz"),
    dict(split_by="sample", counting_strategy="insertion", suffix=".bedgraph"),
    dict(min_num_fragments=300, smooth_base=30),
    dict(shift_left=4, shift_right=-5, max_frag_length=300),
]


@pytest.mark.parametrize("kw", CASES, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()) or "default")
def test_n_files_equal_one_file_with_sample_barcodes(tmp_path, kw):
    paths, merged = write_samples(tmp_path / "in")
    table = table_file(tmp_path / "groups.tsv", sample_column="split_by" in kw)
    single = export(merged, table, tmp_path / "one", **kw)
    atlas = export(paths, table, tmp_path / "many", **kw)
    assert set(atlas) == set(single) and len(single) >= 3
    assert tracks_bytes(atlas) == tracks_bytes(single)


def test_list_of_files_names_samples_by_file_name_and_any_n_jobs_gives_the_same_bytes(tmp_path):
    paths, merged = write_samples(tmp_path / "in")
    table = table_file(tmp_path / "groups.tsv")
    reference = tracks_bytes(export(merged, table, tmp_path / "one"))
    for n_jobs in (1, 2, 4):
        got = export([paths[s] for s in SAMPLES], table, tmp_path / f"list{n_jobs}", n_jobs=n_jobs)
        assert tracks_bytes(got) == reference


def test_split_by_sample_needs_no_sample_column(tmp_path):
    paths, merged = write_samples(tmp_path / "in")
    table = table_file(tmp_path / "groups.tsv")  # barcodes sample#barcode, no sample column
    got = export(paths, table, tmp_path / "many", split_by="sample")
    assert {s for _, s in got} == set(SAMPLES)
    reference = export(merged, table_file(tmp_path / "with_column.tsv", sample_column=True), tmp_path / "one",
                       split_by="sample")
    assert tracks_bytes(got) == tracks_bytes(reference)


def test_bare_barcodes_are_found_in_their_one_file(tmp_path):
    paths, merged = write_samples(tmp_path / "in", disjoint=True)
    table = table_file(tmp_path / "groups.tsv", prefixed=False)
    # each bare barcode occurs in one file only, so (sample, barcode) is known from the files
    rows = pd.read_csv(table, sep="\t").drop_duplicates("barcode")
    rows.to_csv(table, sep="\t", index=False)
    assert tracks_bytes(export(paths, table, tmp_path / "many")) == tracks_bytes(export(merged, table,
                                                                                        tmp_path / "one"))


def test_a_barcode_in_two_files_without_sample_is_an_error_naming_both(tmp_path):
    paths, _ = write_samples(tmp_path / "in")
    groups = _groups()
    with pytest.raises(ValueError, match=r"occurs in two fragment files, '.*s\d.tsv.*' \(sample 's\d'\) and "
                                         r"'.*s\d.tsv.*' \(sample 's\d'\).*never merges"):
        export(paths, groups, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_per_file_warnings_name_the_file(tmp_path):
    paths, _ = write_samples(tmp_path / "in")
    with open(paths["s3"], "a") as fh:
        fh.write("chrUn\t10\t100\tAACAGCGTGTACAACC-1\t1\n")
    with pytest.warns(FragcovWarning) as record:
        fragcov.export_coverage(paths, table_file(tmp_path / "g.tsv"), out_dir=tmp_path / "out",
                                chrom_sizes=SIZES)
    unknown = [str(w.message) for w in record if "not in chrom_sizes" in str(w.message)]
    assert unknown == [f"{paths['s3']}: 1 line(s) on chromosomes not in chrom_sizes were skipped"]


def test_a_bad_line_names_its_file_and_writes_nothing(tmp_path):
    paths, _ = write_samples(tmp_path / "in")
    with open(paths["s3"], "a") as fh:
        fh.write("chr21\t10\tx\tAACAGCGTGTACAACC-1\t1\n")
    with pytest.raises(ValueError, match=r"s3.tsv: line \d+: "):
        export(paths, table_file(tmp_path / "g.tsv"), tmp_path / "out", n_jobs=3)
    assert not (tmp_path / "out").exists()


def test_bad_inputs(tmp_path):
    paths, _ = write_samples(tmp_path / "in")
    table = table_file(tmp_path / "g.tsv")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        (tmp_path / d / "fragments.tsv.gz").write_bytes(paths["s1"].read_bytes())
    with pytest.raises(ValueError, match=r"two fragment files give the sample name 'fragments'.*pass a dict"):
        export([tmp_path / "a" / "fragments.tsv.gz", tmp_path / "b" / "fragments.tsv.gz"], table, tmp_path / "o")
    with pytest.raises(FileNotFoundError, match="sample 'sX' not found"):
        export({**paths, "sX": tmp_path / "missing.tsv.gz"}, table, tmp_path / "o")
    with pytest.raises(ValueError, match="empty"):
        export([], table, tmp_path / "o")
    with pytest.raises(ValueError, match="empty"):
        export({}, table, tmp_path / "o")
    with pytest.raises(ValueError, match="written sample#barcode, but no sample is called 's9'"):
        export({"s1": paths["s1"]}, {"s9#AACAGCGTGTACAACC-1": "x"}, tmp_path / "o")
    twice = tmp_path / "twice.tsv"
    twice.write_text("barcode\tcell_type\tsample\ns1#AACAGCGTGTACAACC-1\tx\ts1\nAACAGCGTGTACAACC-1\ty\ts1\n")
    with pytest.raises(ValueError, match="cell s1#AACAGCGTGTACAACC-1 is listed twice"):
        export(paths, twice, tmp_path / "o")
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------- match report (docs/spec.md 13.7)


def test_no_barcode_of_the_table_in_the_file_is_an_error_before_any_output(tmp_path):
    groups = {b[:-2]: g for b, g in _groups().items()}  # the table lacks Cell Ranger's -1 suffix
    frags = DEMO / "fragments.tsv.gz"
    for kw in (dict(), dict(ceiling=2), dict(min_num_fragments=10)):
        with pytest.raises(ValueError, match=r"none of the 60 barcodes of the groups table occurs in the file "
                                             r"\(e.g. table: '[ACGT]+'; file '.*': '[ACGT]+-1'\).*-1"):
            fragcov.export_coverage(frags, groups, out_dir=tmp_path / "out", chrom_sizes=SIZES, **kw)
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", ["", "# only a header\n", "chrUn_x\t10\t60\tAACAGCGTGTACAACC-1\t1\n"],
                         ids=["empty", "comments only", "no known chromosome"])
def test_a_file_without_fragments_says_so_before_any_output(text, tmp_path):
    frags = tmp_path / "f.tsv"
    frags.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FragcovWarning)  # the skipped-chromosome notice
        with pytest.raises(ValueError, match=r"^the file \('.*f\.tsv'\) holds no fragment on the chromosomes of "
                                             r"chrom_sizes, so none of the 60 barcodes"):
            fragcov.export_coverage(frags, _groups(), out_dir=tmp_path / "out", chrom_sizes=SIZES, n_jobs=3)
    assert not (tmp_path / "out").exists()


def test_some_barcodes_of_the_table_missing_is_one_warning_with_the_fraction(tmp_path):
    groups = _groups()
    groups.update({f"NOTINFILE{i}-1": "CD4 Naive" for i in range(13)})
    with pytest.warns(FragcovWarning, match=r"^60 of 73 barcodes of the groups table occur in the file "):
        fragcov.export_coverage(DEMO / "fragments.tsv.gz", groups, out_dir=tmp_path / "out", chrom_sizes=SIZES)


def test_cli_no_match_is_exit_2(tmp_path, capsys):
    table = tmp_path / "g.tsv"
    table.write_text("".join(f"{b[:-2]}\t{g}\n" for b, g in _groups().items()))
    rc = main(["-q", "export-coverage", str(DEMO / "fragments.tsv.gz"), "--groups", str(table), "--chrom-sizes",
               str(SIZES), "--out-dir", str(tmp_path / "out")])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("fragcov: error: none of the 60 barcodes") and "-1" in err
    assert not (tmp_path / "out").exists()


def test_cli_several_files(tmp_path, capsys):
    paths, _ = write_samples(tmp_path / "in")
    table = table_file(tmp_path / "g.tsv")
    reference = tracks_bytes(export(paths, table, tmp_path / "api"))
    rc = main(["-q", "export-coverage", *[f"{s}={p}" for s, p in paths.items()], "--groups", str(table),
               "--chrom-sizes", str(SIZES), "--out-dir", str(tmp_path / "cli")])
    assert rc == 0
    printed = dict(line.split("\t") for line in capsys.readouterr().out.strip().splitlines())
    assert tracks_bytes(printed) == reference
    # plain paths: samples named after the files (s1.tsv.gz -> s1)
    rc = main(["-q", "export-coverage", *map(str, paths.values()), "--groups", str(table),
               "--chrom-sizes", str(SIZES), "--out-dir", str(tmp_path / "cli2")])
    assert rc == 0
    printed = dict(line.split("\t") for line in capsys.readouterr().out.strip().splitlines())
    assert tracks_bytes(printed) == reference


# ---------------------------------------------------------------- import_fragments: groups, atlases


def test_import_with_groups_then_export_by_group(tmp_path, capsys):
    """README flow (issue #20): import with groups, then export by the obs column they made."""
    groups = _groups()
    adata = fragcov.import_fragments(DEMO / "fragments.tsv.gz", SIZES, min_num_fragments=0,
                                     groups={b: g for b, g in list(groups.items())[:-1]})
    assert adata.obs["group"].isna().sum() == adata.n_obs - len(groups) + 1
    got = export(adata, "group", tmp_path / "imported")
    reference = export(DEMO / "fragments.tsv.gz", {b: g for b, g in list(groups.items())[:-1]},
                       tmp_path / "file")
    assert tracks_bytes(got) == tracks_bytes(reference)
    # the CLI: --groups, then --groupby on the .h5ad (a table with a header names its columns)
    table = tmp_path / "g.tsv"
    table.write_text("barcode\tcell_type\tdepth\n" + "".join(f"{b}\t{g}\t1\n" for b, g in groups.items()))
    out = tmp_path / "data.h5ad"
    assert main(["-q", "import-fragments", str(DEMO / "fragments.tsv.gz"), "--chrom-sizes", str(SIZES),
                 "--output", str(out), "--groups", str(table), "--min-num-fragments", "0"]) == 0
    capsys.readouterr()
    assert main(["-q", "export-coverage", str(out), "--groupby", "cell_type", "--out-dir",
                 str(tmp_path / "cli")]) == 0
    printed = dict(line.split("\t") for line in capsys.readouterr().out.strip().splitlines())
    assert tracks_bytes(printed) == tracks_bytes(export(DEMO / "fragments.tsv.gz", groups, tmp_path / "f2"))


@pytest.mark.parametrize("to_file", [False, True])
def test_import_atlas_names_cells_sample_barcode(tmp_path, to_file):
    paths, merged = write_samples(tmp_path / "in")
    table = table_file(tmp_path / "g.tsv")
    adata = fragcov.import_fragments(paths, SIZES, min_num_fragments=0, sorted_by_barcode=False, groups=table,
                                     file=tmp_path / "atlas.h5ad" if to_file else None)
    one = fragcov.import_fragments(merged, SIZES, min_num_fragments=0, sorted_by_barcode=False)
    assert sorted(adata.obs_names) == sorted(one.obs_names)
    assert all(n.split("#")[0] == s for n, s in zip(adata.obs_names, adata.obs["sample"]))
    assert list(adata.obs["sample"].cat.categories) == list(SAMPLES)
    got = export(adata, "cell_type", tmp_path / "atlas", split_by="sample")
    reference = export(paths, table, tmp_path / "files", split_by="sample")
    assert tracks_bytes(got) == tracks_bytes(reference)
