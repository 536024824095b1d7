"""Figures are data, not markup (docs/spec.md 15.6-15.9): user text is drawn literally, signed tracks get
a symmetric axis, every track suffix of export is recognised, duplicate tracks follow one stated rule,
a bad line of a track or annotation is an error naming the file and line, gene rows are capped, and
figures are written atomically. Files here are written by hand; values are compared with the records
written (helpers.read_track) or with hand-worked numbers."""
from __future__ import annotations

import gzip
import os
import re
import sys
import warnings

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("pyBigWig")

import fragcov
from fragcov._notices import FragcovWarning
from fragcov._plot import read_genes
from fragcov.demo import DEMO

REGION = "chr21:1,000-2,000"


def bedgraph(path, lines: list[str]):
    path.write_text("".join(line + "\n" for line in lines))
    return path


def track_axes(fig):
    return {ax.get_label()[6:]: ax for ax in fig.axes if ax.get_label().startswith("track:")}


def texts(fig) -> list:
    return [t for ax in fig.axes for t in ax.texts] + list(fig.texts)


def test_dollar_signs_are_drawn_literally_and_the_figure_saves(tmp_path):
    tracks = {"$x^2$": bedgraph(tmp_path / "a.bedgraph", ["chr21\t1000\t1500\t2"]),
              "cost $5": bedgraph(tmp_path / "b.bedgraph", ["chr21\t1200\t1300\t1"])}
    genes = tmp_path / "g.gtf"
    genes.write_text('chr21\tx\texon\t1101\t1400\t.\t+\t.\tgene_id "G1"; gene_name "$\\alpha$"; transcript_id "T1";\n')
    fig = fragcov.pl.tracks(tracks, REGION, genes=genes, title="a $b$ c", output=tmp_path / "f.svg")
    drawn = {t.get_text(): t for t in texts(fig)}
    for label in ("$x^2$", "cost $5", "$\\alpha$", "a $b$ c"):
        assert label in drawn and not drawn[label].get_parse_math() and not drawn[label].get_usetex()
    fragcov.pl.tracks(tracks, REGION, output=tmp_path / "f.png")  # a lone $ does not fail at saving


def test_negative_values_get_a_symmetric_axis(tmp_path):
    t = {"up": bedgraph(tmp_path / "u.bedgraph", ["chr21\t1000\t1100\t1.5"]),
         "down": bedgraph(tmp_path / "d.bedgraph", ["chr21\t1000\t1100\t-3", "chr21\t1100\t1200\t0.5"])}
    rows = track_axes(fragcov.pl.tracks(t, REGION))
    assert rows["up"].get_ylim() == (-3.0, 3.0) and rows["down"].get_ylim() == (-3.0, 3.0)
    assert any(x.get_text() == "[-3 - 3]" for x in rows["down"].texts)
    rows = track_axes(fragcov.pl.tracks(t, REGION, shared_y=False))
    assert rows["up"].get_ylim() == (0.0, 1.5) and rows["down"].get_ylim() == (-3.0, 3.0)


def test_a_compare_folder_plots_log2_tracks_around_zero(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FragcovWarning)
        paths = fragcov.compare_groups(DEMO / "fragments.tsv.gz", DEMO / "groups.tsv", chrom_sizes=DEMO /
                                       "chrom.sizes", bin_size=100, out_dir=tmp_path / "cmp", n_jobs=1)
    from helpers import read_track

    window = ("chr21", 11_900_000, 11_960_000)
    rows = track_axes(fragcov.pl.tracks(tmp_path / "cmp", "chr21:11,900,000-11,960,000"))
    assert set(rows) == {f"{g}.log2" for g in paths}
    peak = 0.0
    for p in paths.values():
        rec = read_track(p, ["chr21", "chr22", "chrM"])
        sel = (rec.chrom == window[0]) & (rec.end > window[1]) & (rec.start < window[2])
        peak = max(peak, float(abs(rec.value[sel]).max()))
    for ax in rows.values():
        assert ax.get_ylim() == pytest.approx((-peak, peak), rel=1e-6)


@pytest.mark.parametrize("suffix", [".bdg", ".bg", ".bedgraph.zstd", ".BedGraph.ZST", ".bdg.gz", ".bigwig"])
def test_every_suffix_export_writes_is_a_track_of_a_folder(tmp_path, suffix):
    if "zst" in suffix.lower():
        pytest.importorskip("zstandard")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FragcovWarning)
        paths = fragcov.export_coverage(DEMO / "fragments.tsv.gz", DEMO / "groups.tsv", chrom_sizes=DEMO /
                                        "chrom.sizes", bin_size=100, out_dir=tmp_path / "t", suffix=suffix,
                                        n_jobs=1)
    rows = track_axes(fragcov.pl.tracks(tmp_path / "t", "chr21:11,900,000-11,960,000"))
    assert set(rows) == set(paths)


def test_two_tracks_of_one_group_draw_the_bigwig_and_name_the_other(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FragcovWarning)
        kw = dict(chrom_sizes=DEMO / "chrom.sizes", out_dir=tmp_path / "t", n_jobs=1)
        bw = fragcov.export_coverage(DEMO / "fragments.tsv.gz", DEMO / "groups.tsv", bin_size=10, **kw)
        fragcov.export_coverage(DEMO / "fragments.tsv.gz", DEMO / "groups.tsv", bin_size=100,
                                suffix=".bedgraph.gz", **kw)
    with pytest.warns(FragcovWarning) as record:  # one warning per group
        fig = fragcov.pl.tracks(tmp_path / "t", "chr21:11,900,000-11,960,000")
    assert any(re.search(r"group 'CD14 Mono': drew 'CD14 Mono\.bw', not 'CD14 Mono\.bedgraph\.gz'", str(w.message))
               for w in record)
    assert set(track_axes(fig)) == set(bw)
    direct = track_axes(fragcov.pl.tracks(bw, "chr21:11,900,000-11,960,000"))
    for g, ax in track_axes(fig).items():
        assert ax.get_ylim() == direct[g].get_ylim()


@pytest.mark.parametrize("line,pattern", [
    ("chr21\t1000\tx\t2", r"end 'x' is not a whole number"),
    ("chr21\t1000\t1100\tnan?", r"value 'nan\?' is not a number"),
    ("chr21\t1000", r"has 4 fields"),
    ("chr21\t1100\t1000\t1", r"not 0 <= start <= end"),
    ("chr9\t1000", r"has 4 fields"),  # a broken line on another chromosome is an error too
])
def test_a_bad_bedgraph_line_names_the_file_and_line(tmp_path, line, pattern):
    t = bedgraph(tmp_path / "a.bedgraph", ["track type=bedGraph", "chr21\t0\t10\t1", line])
    with pytest.raises(ValueError, match=rf"a\.bedgraph: line 3: .*{pattern}"):
        fragcov.pl.tracks({"a": t}, REGION, output=tmp_path / "f.png")
    assert not (tmp_path / "f.png").exists()


def test_binary_or_corrupt_tracks_are_errors_naming_the_file(tmp_path):
    junk = tmp_path / "a.bedgraph.gz"
    junk.write_bytes(gzip.compress(b"chr21\t1\t2\t3\n" * 100)[:-20])
    with pytest.raises(ValueError, match=r"a\.bedgraph\.gz: line \d+: cannot be read"):
        fragcov.pl.tracks({"a": junk}, REGION)
    binary = tmp_path / "b.bedgraph"
    binary.write_bytes(b"\x00\xff\xfe" * 100)
    with pytest.raises(ValueError, match=r"b\.bedgraph: line 1: not UTF-8"):
        fragcov.pl.tracks({"b": binary}, REGION)
    bw = tmp_path / "c.bw"
    bw.write_bytes(b"not a bigwig at all" * 10)
    with pytest.raises(ValueError, match=r"c\.bw: not a readable bigWig"):
        fragcov.pl.tracks({"c": bw}, REGION)


@pytest.mark.parametrize("content,pattern", [
    ("chr21\tx\texon\tten\t20\t.\t+\t.\tgene_id \"A\";\n", r"line 1: start 'ten' is not a whole number"),
    ("chr21\tx\texon\t10\n", r"line 1: not a GTF/GFF3"),
    ("chr21\t100\t200\tA\t0\t+\t100\t200\t0\t3\t10,20,\t0,50,\n", r"line 1: blockCount is 3 but there are 2"),
    ("chr21\t100\t200\tA\t0\t+\t100\t200\t0\t2\t10,200,\t0,50,\n", r"line 1: a block lies outside"),
    ("# header\nchr21\tx\texon\t30\t20\t.\t+\t.\tgene_id \"A\";\n", r"line 2: start 30 and end 20"),
])
def test_a_bad_annotation_line_names_the_file_and_line(tmp_path, content, pattern):
    genes = tmp_path / "genes.gtf"
    genes.write_text(content)
    with pytest.raises(ValueError, match=rf"genes\.gtf: {pattern}"):
        read_genes(genes)


def test_gff3_escapes_are_decoded_and_exons_without_ids_stay_apart(tmp_path):
    gff = tmp_path / "g.gff3"
    gff.write_text("chr21\tx\tgene\t101\t900\t.\t+\t.\tID=g1;Name=ABC%3B1%2C2\n"
                   "chr21\tx\tmRNA\t101\t900\t.\t+\t.\tID=t1;Parent=g1\n"
                   "chr21\tx\texon\t101\t200\t.\t+\t.\tParent=t1\n"
                   "chr21\tx\texon\t1101\t1200\t.\t+\t.\tName=lone1\n"
                   "chr21\tx\texon\t5101\t5200\t.\t-\t.\tName=lone2\n")
    names = {t.gene: (t.start, t.end, t.exons) for t in read_genes(gff)}
    assert names == {"ABC;1,2": (100, 200, [(100, 200)]), "lone1": (1100, 1200, [(1100, 1200)]),
                     "lone2": (5100, 5200, [(5100, 5200)])}
    gtf = tmp_path / "g.gtf"
    gtf.write_text("chr21\tx\texon\t101\t200\t.\t+\t.\tnote \"a\";\nchr21\tx\texon\t3001\t3100\t.\t+\t.\tnote \"b\";\n")
    assert sorted((t.start, t.end) for t in read_genes(gtf)) == [(100, 200), (3000, 3100)]


def test_thousands_of_genes_are_capped_with_a_visible_note(tmp_path):
    gtf = tmp_path / "many.gtf"
    gtf.write_text("".join(f'chr21\tx\texon\t{1001 + i}\t{1600 + i}\t.\t+\t.\tgene_id "G{i}"; transcript_id "T{i}";\n'
                           for i in range(5000)))
    fig = fragcov.pl.tracks({"a": bedgraph(tmp_path / "a.bedgraph", ["chr21\t1000\t1100\t1"])}, REGION,
                            genes=gtf)
    genes = [ax for ax in fig.axes if ax.get_label() == "genes"][0]
    notes = [t.get_text() for t in genes.texts if t.get_text().endswith("more genes")]
    drawn = [t for t in genes.texts if t.get_text().startswith("G")]
    # gene i is [1000 + i, 1600 + i): the 1,000 genes i < 1000 overlap the window [1000, 2000)
    assert notes == [f"+{1000 - len(drawn):,} more genes"] and 0 < len(drawn) <= 8 * 10
    assert fig.get_size_inches()[1] < 6  # a figure, not a 398-inch column


@pytest.mark.parametrize("kw,pattern", [
    (dict(width=0), r"width must be a finite number > 0"),
    (dict(width=float("nan")), r"width must be a finite number > 0"),
    (dict(dpi=-1), r"dpi must be"),
    (dict(track_height=0), r"track_height must be"),
    (dict(region=("chr21", -5, 100)), r"region start must be >= 0"),
    (dict(region="G1", flank=-10), r"flank must be >= 0"),
    (dict(region="G1", flank=1.5), r"flank must be a whole number"),
    (dict(highlight=[("chr21", -1, 5)]), r"highlight start must be >= 0"),
])
def test_bad_parameters_name_themselves(tmp_path, kw, pattern):
    gtf = tmp_path / "g.gtf"
    gtf.write_text('chr21\tx\texon\t1101\t1400\t.\t+\t.\tgene_id "G1"; transcript_id "T1";\n')
    kw = {"region": REGION, **kw}
    with pytest.raises((ValueError, TypeError), match=pattern):
        fragcov.pl.tracks({"a": bedgraph(tmp_path / "a.bedgraph", ["chr21\t1000\t1100\t1"])}, genes=gtf,
                          output=tmp_path / "f.png", **kw)
    assert not (tmp_path / "f.png").exists()


def test_a_failed_drawing_leaves_no_partial_figure(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    out = tmp_path / "f.pdf"
    out.write_bytes(b"the previous figure")

    def broken_savefig(self, fname, **kw):
        with open(fname, "wb") as fh:
            fh.write(b"%PDF-1.4 half")
        raise RuntimeError("drawing failed half way")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="half way"):
        fragcov.pl.tracks({"a": bedgraph(tmp_path / "a.bedgraph", ["chr21\t1000\t1100\t1"])}, REGION, output=out)
    assert out.read_bytes() == b"the previous figure"
    assert sorted(os.listdir(tmp_path)) == ["a.bedgraph", "f.pdf"]


def test_samples_dict_and_list_of_fragment_files_are_sources(tmp_path):
    from test_atlas import write_samples

    paths, merged = write_samples(tmp_path / "in", disjoint=True)
    region = "chr21:11,900,000-11,960,000"
    kw = dict(groupby=DEMO / "groups.tsv", chrom_sizes=DEMO / "chrom.sizes", bin_size=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FragcovWarning)
        one = track_axes(fragcov.pl.tracks(merged, region, **kw))
        by_dict = track_axes(fragcov.pl.tracks(paths, region, **kw))
        by_list = track_axes(fragcov.pl.tracks(list(paths.values()), region, **kw))
    assert set(one) == set(by_dict) == set(by_list) and len(one) == 3
    for g in one:
        assert one[g].get_ylim() == by_dict[g].get_ylim() == by_list[g].get_ylim()


def test_a_zstd_track_without_zstandard_says_which_pip_install(tmp_path, monkeypatch):
    zstandard = pytest.importorskip("zstandard")
    t = tmp_path / "a.bedgraph.zst"
    t.write_bytes(zstandard.ZstdCompressor().compress(b"chr21\t1000\t1100\t1\n"))
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(ImportError, match="pip install zstandard"):
        fragcov.pl.tracks({"a": t}, REGION)
