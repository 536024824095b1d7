"""fragcov.profile (docs/spec.md section 16) against the numpy model (tests/model.py profile_matrices,
which counts around each anchor base by base from the fragments), float32-exact: every option, both
strands, chromosome ends, each counting strategy and normalization, the TSS enrichment; the anchors'
formats and their errors; one pass whatever the threads or the spill budget."""
from __future__ import annotations

import gzip
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import fragcov
import model
from helpers import cells_per_label, make_anndata

CHROM_SIZES = [("chr1", 120_003), ("chr2", 60_000)]
N_CELLS = 24
# cells 0-9 A, 10-17 B, 18-21 C, 22 D (no fragments), 23 no label
LABELS = ["A"] * 10 + ["B"] * 8 + ["C"] * 4 + ["D"] + [None]
GROUPS = ["A", "B", "C", "D"]


def random_data(seed=7, n=8_000):
    rng = np.random.default_rng(seed)
    cell = rng.integers(0, 22, n)
    cell[:300] = 23  # unlabelled
    chrom = rng.choice(2, n, p=[0.7, 0.3])
    lengths = np.array([L for _, L in CHROM_SIZES])
    peaks = np.array([5_000, 20_000, 20_400, 60_000, 119_800, 300, 30_000, 59_900])
    peak_chrom = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    at_peak = rng.random(n) < 0.6
    k = rng.integers(0, len(peaks), n)
    chrom = np.where(at_peak, peak_chrom[k], chrom)
    start = np.where(at_peak, peaks[k] + rng.integers(-400, 400, n), rng.integers(0, lengths[chrom] - 10))
    start = np.clip(start, 0, lengths[chrom] - 10)
    end = np.minimum(start + rng.integers(1, 700, n), lengths[chrom] + 200)  # some run past the end
    end = np.where(rng.random(n) < 0.02, start + rng.integers(2_001, 3_000, n), end)  # a long tail
    end = np.minimum(end, lengths[chrom])
    return dict(cell=cell, chrom=chrom, start=start, end=end)


DATA = random_data()
# both strands, at the chromosomes' starts and ends, one past the end, in no order
ANCHORS = [("chr1", 5_000, 5_400, "+"), ("chr1", 20_000, 20_001, "-"), ("chr1", 20_390, 20_800, "."),
           ("chr2", 0, 50, "+"), ("chr1", 119_700, 120_003, "-"), ("chr2", 59_950, 60_000, "+"),
           ("chr1", 60_000, 61_000, "-"), ("chr2", 29_000, 31_000, "+"), ("chr1", 5_000, 5_400, "+"),
           ("chr2", 100, 101, "-"), ("chr1", 0, 1, "+")]


def adata(labels=LABELS, strand=None, data=DATA):
    obs = pd.DataFrame({"cell_type": labels, "sample": ["s1", "s2"] * (N_CELLS // 2),
                        "q": np.linspace(1.0, 3.0, N_CELLS)}, index=[f"bc{i:03d}" for i in range(N_CELLS)])
    return make_anndata(CHROM_SIZES, data["chrom"], data["start"], data["end"], data["cell"], N_CELLS, obs=obs,
                        strand=strand)


def expected(labels=LABELS, anchors=ANCHORS, groups=GROUPS, data=DATA, strand=None, **kw):
    names = [c for c, _ in CHROM_SIZES]
    return model.profile_matrices(CHROM_SIZES, [names[c] for c in data["chrom"]], data["start"], data["end"],
                                  [labels[c] for c in data["cell"]], strand, anchors=anchors, groups=groups,
                                  n_cells=cells_per_label(labels), **kw)


def run(anchors=ANCHORS, labels=LABELS, **kw):
    kw.setdefault("n_jobs", 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fragcov.FragcovWarning)  # D is empty (tested on its own)
        return fragcov.profile(adata(labels), "cell_type", anchors, **kw)


def check(result, exp, label=""):
    assert list(result.matrices) == list(exp), label
    for g, (matrix, tss) in exp.items():
        got = result.matrices[g]
        assert got.dtype == np.float32 and got.shape == matrix.shape, (label, g)
        np.testing.assert_array_equal(got, matrix, err_msg=f"{label} group {g}")
        assert (math.isnan(tss) and math.isnan(result.tss_enrichment[g])) or result.tss_enrichment[g] == tss, \
            (label, g, result.tss_enrichment[g], tss)


COMBOS = [
    dict(),
    dict(reference_point="start", upstream=500, downstream=1500, bin_size=50, counting_strategy="fragment",
         normalization=None),
    dict(reference_point="end", upstream=100, downstream=300, bin_size=20, normalization="RPKM"),
    dict(reference_point="TSS", normalization="BPM", blacklist=["chr1:20,100-20,200", "chr2:0-20"]),
    dict(normalization="RPGC", effective_genome_size=2_913_022_398, scale_factor=2.5, counting_strategy="fragment"),
    dict(normalization="n_cells", upstream=1000, downstream=0, bin_size=100),
    dict(include_for_norm=["chr1:0-80,000"], exclude_for_norm=["chr1:5,000-9,000"], min_frag_length=50,
         max_frag_length=300, counting_strategy="fragment"),
    dict(upstream=0, downstream=1000, bin_size=1000, reference_point="end"),
    dict(upstream=50, downstream=50, bin_size=1, reference_point="centre", counting_strategy="fragment"),
    dict(max_frag_length=None, upstream=3000, downstream=2000, bin_size=500),
    # few wide bins over dense peaks: the core sums by binary search in prefix sums instead of sweeping
    dict(upstream=20_000, downstream=10_000, bin_size=10_000, counting_strategy="fragment", max_frag_length=None),
]


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "defaults")
def test_matches_model(combo):
    kw = dict(combo)
    point = {"TSS": "start", "centre": "center"}.get(kw.get("reference_point", "center"),
                                                     kw.get("reference_point", "center"))
    mkw = {k: v for k, v in kw.items() if k != "reference_point"}
    mkw.setdefault("normalization", "CPM")
    result = run(**kw)
    check(result, expected(reference_point=point, **mkw), str(combo))
    assert result.reference_point == point
    np.testing.assert_array_equal(result.bins, np.arange(-result.upstream, result.downstream, result.bin_size))


def test_result_and_mean_profile():
    result = run()
    assert result.groups == GROUPS
    a = result.anchors
    assert list(a.columns) == ["chrom", "start", "end", "name", "strand", "position", "index"]
    assert a["index"].tolist() == list(range(len(ANCHORS)))
    assert a["position"].tolist() == [model.anchor_base(s, e, st, "center") for _, s, e, st in ANCHORS]
    assert a["name"][0] == "chr1:5000-5400"
    for g, m in result.matrices.items():
        expect = np.array([np.nan if np.isnan(col).all() else np.nanmean(col.astype(np.float64)) for col in m.T])
        np.testing.assert_allclose(result.mean_profile[g], expect, rtol=1e-12)
    assert np.isnan(result.mean_profile["A"]).sum() == 0  # some anchor has every bin
    assert "4 groups x 11 anchors x 400 bins" in repr(result)


def test_selections_max_cells_and_norm_by():
    result = run(selections=["C", "A"], max_cells=5, random_state=3)
    assert result.groups == ["C", "A"]
    cells_a = [i for i, g in enumerate(LABELS) if g == "A"]
    keep = set(np.asarray(cells_a)[np.sort(np.random.default_rng(3).choice(len(cells_a), 5, replace=False))])
    labels = [g if g == "C" or i in keep else None for i, g in enumerate(LABELS)]
    check(result, expected(labels=labels, groups=["C", "A"]), "max_cells")
    q = np.linspace(1.0, 3.0, N_CELLS)
    totals = {g: math.fsum(q[i] for i, x in enumerate(LABELS) if x == g) for g in GROUPS}
    result = run(norm_by="q", normalization=None)
    check(result, expected(normalization=None, norm_by=totals), "norm_by")


def test_split_by():
    result = run(split_by="sample", selections=["A", "B"])
    assert list(result.matrices) == [("A", "s1"), ("A", "s2"), ("B", "s1"), ("B", "s2")]
    samples = ["s1", "s2"] * (N_CELLS // 2)
    for key in result.matrices:
        labels = [f"{g}|{s}" if g == key[0] and s == key[1] else None for g, s in zip(LABELS, samples)]
        exp = expected(labels=labels, groups=[f"{key[0]}|{key[1]}"])
        m, tss = next(iter(exp.values()))
        np.testing.assert_array_equal(result.matrices[key], m)


def test_single_end_reads():
    rng = np.random.default_rng(5)
    strand = np.where(rng.random(len(DATA["start"])) < 0.5, "+", "-")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fragcov.FragcovWarning)
        for counting in ("insertion", "fragment"):
            result = fragcov.profile(adata(strand=strand), "cell_type", ANCHORS, counting_strategy=counting,
                                     upstream=500, downstream=500, n_jobs=2)
            check(result, expected(strand=strand, counting_strategy=counting, upstream=500, downstream=500),
                  f"single-end {counting}")


def test_fragment_file_with_shifts(tmp_path):
    names = [c for c, _ in CHROM_SIZES]
    frag, table, sizes = tmp_path / "f.tsv", tmp_path / "groups.tsv", tmp_path / "chrom.sizes"
    labelled = np.array([LABELS[c] is not None for c in DATA["cell"]])
    order = np.lexsort((DATA["start"], DATA["chrom"]))
    with open(frag, "w") as fh:
        for i in order:
            fh.write(f"{names[DATA['chrom'][i]]}\t{DATA['start'][i]}\t{DATA['end'][i]}\tbc{DATA['cell'][i]:03d}\t1\n")
    table.write_text("".join(f"bc{i:03d}\t{g}\n" for i, g in enumerate(LABELS) if g is not None))
    sizes.write_text("".join(f"{c}\t{L}\n" for c, L in CHROM_SIZES))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fragcov.FragcovWarning)
        result = fragcov.profile(str(frag), str(table), ANCHORS, chrom_sizes=str(sizes), shift_left=4,
                                 shift_right=-5, n_jobs=2, upstream=1000, downstream=1000)
    # the shifted fragments (8.19): [start + 4, end - 5), those that become empty dropped
    s, e = DATA["start"] + 4, DATA["end"] - 5
    keep = (e > s) & labelled
    shifted = dict(cell=DATA["cell"][keep], chrom=DATA["chrom"][keep], start=s[keep], end=e[keep])
    check(result, expected(data=shifted, groups=["A", "B", "C", "D"], upstream=1000, downstream=1000),
          "fragment file")


def test_several_fragment_files(tmp_path):
    """Two samples' files (an atlas) give the profiles of one file holding both, barcodes sample#barcode."""
    names = [c for c, _ in CHROM_SIZES]
    sizes = tmp_path / "chrom.sizes"
    sizes.write_text("".join(f"{c}\t{L}\n" for c, L in CHROM_SIZES))
    order = np.lexsort((DATA["start"], DATA["chrom"]))
    lines = {"s1": [], "s2": [], "all": []}
    for i in order:
        c = int(DATA["cell"][i])
        if LABELS[c] is None:
            continue
        sample = "s1" if c % 2 else "s2"
        row = f"{names[DATA['chrom'][i]]}\t{DATA['start'][i]}\t{DATA['end'][i]}\t"
        lines[sample].append(row + f"bc{c:03d}\t1\n")
        lines["all"].append(row + f"{sample}#bc{c:03d}\t1\n")
    for k, v in lines.items():
        (tmp_path / f"{k}.tsv").write_text("".join(v))
    table = tmp_path / "groups.tsv"
    table.write_text("".join(f"{'s1' if i % 2 else 's2'}#bc{i:03d}\t{g}\n" for i, g in enumerate(LABELS) if g))
    kw = dict(chrom_sizes=str(sizes), n_jobs=2, upstream=500, downstream=500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fragcov.FragcovWarning)
        atlas = fragcov.profile({"s1": str(tmp_path / "s1.tsv"), "s2": str(tmp_path / "s2.tsv")}, str(table),
                                ANCHORS, **kw)
        merged = fragcov.profile(str(tmp_path / "all.tsv"), str(table), ANCHORS, **kw)
    assert atlas.groups == merged.groups == GROUPS
    for g in GROUPS:
        np.testing.assert_array_equal(atlas.matrices[g], merged.matrices[g])
    check(merged, expected(upstream=500, downstream=500), "merged file")


def test_one_pass_the_same_whatever_threads_and_spill(monkeypatch):
    base = run(n_jobs=1)
    monkeypatch.setattr(fragcov._settings, "memory_budget_bytes", 2_000)  # spill every few hundred units
    for n_jobs in (2, 3, -1):
        other = run(n_jobs=n_jobs)
        for g in base.matrices:
            np.testing.assert_array_equal(other.matrices[g], base.matrices[g])
            assert other.tss_enrichment[g] == base.tss_enrichment[g] or math.isnan(base.tss_enrichment[g])


def test_tss_enrichment_counts_each_anchor_base_once_and_only_inside():
    # at the peaks of chr1 (the second the same base as the first); the last two windows leave chr1
    tss = [("chr1", 5_000, 5_001, "+"), ("chr1", 5_000, 5_001, "-"), ("chr1", 20_000, 20_001, "+"),
           ("chr1", 60_000, 60_001, "-"), ("chr1", 1_999, 2_000, "+"), ("chr1", 118_003, 118_004, "+")]
    result = run(anchors=tss, reference_point="start")
    check(result, expected(anchors=tss, reference_point="start"), "tss")
    one = run(anchors=[tss[0], tss[2], tss[3]], reference_point="start")
    for g in ("A", "B", "C"):
        assert result.tss_enrichment[g] == one.tss_enrichment[g] or math.isnan(one.tss_enrichment[g])
    assert result.tss_enrichment["A"] > 1  # insertions pile up at the peaks
    assert math.isnan(result.tss_enrichment["D"])


def test_warnings():
    anchors = ANCHORS + [("chrUn_1", 0, 10, "+"), ("chr2", 60_000, 60_010, "+")]
    with pytest.warns(fragcov.FragcovWarning) as caught:
        result = fragcov.profile(adata(), "cell_type", anchors, n_jobs=2)
    texts = [str(w.message) for w in caught]
    assert "anchors: 1 of 13 anchors are on chromosomes the data does not have (chrUn_1): left out" in texts
    assert any(t.startswith("anchors: 1 anchors lie at or past the end of their chromosome (e.g. 'chr2:60000-60010'")
               for t in texts), texts
    assert "group 'D' has no fragments to count: its profile is 0" in texts
    assert result.anchors["index"].tolist() == list(range(11)) + [12]
    # anchor base 60,005 of chr2 (60,000 bases): from bin 199 (r from -10) on every bin holds a base past the end
    last = result.matrices["A"][-1]
    assert np.isnan(last[199:]).all() and not np.isnan(last[:199]).any()
    np.testing.assert_array_equal(np.nan_to_num(result.matrices["D"]), 0)
    with pytest.warns(fragcov.FragcovWarning, match="normalization total of 0"):
        fragcov.profile(adata(), "cell_type", ANCHORS, include_for_norm=[], selections=["A"], n_jobs=1)


@pytest.mark.parametrize("kw, error, match", [
    (dict(upstream=2005), ValueError, "upstream=2005 is not a multiple of bin_size=10"),
    (dict(downstream=-10), ValueError, "downstream must be 0-2\\^31"),
    (dict(upstream=0, downstream=0), ValueError, "holds no base"),
    (dict(bin_size=0), ValueError, "bin_size must be 1-2\\^31"),
    (dict(upstream=1.5), TypeError, "upstream must be a whole number"),
    (dict(reference_point="middle"), ValueError, "unknown reference_point 'middle'"),
    (dict(reference_point=1), TypeError, "reference_point must be a string"),
    (dict(normalization="TPM"), ValueError, "unknown normalization"),
    (dict(counting_strategy="reads"), ValueError, "counting_strategy"),
    (dict(upstream=2**31, downstream=2**31, bin_size=1), ValueError, "more than this machine's memory"),
])
def test_argument_errors(kw, error, match):
    anchors = ANCHORS * 40 if kw.get("bin_size") == 1 else ANCHORS
    with pytest.raises(error, match=match):
        fragcov.profile(adata(), "cell_type", anchors, n_jobs=1, **kw)


@pytest.mark.parametrize("anchors, error, match", [
    ([], ValueError, "anchors is empty"),
    (["chr1:10-5"], ValueError, "anchors\\[0\\]: region 'chr1:10-5' starts after it ends|need 0 <= start < end"),
    (["chr1:10-10"], ValueError, "anchors\\[0\\]: need 0 <= start < end"),
    ([("chr1", 0, 10, "x")], ValueError, "anchors\\[0\\]: the strand must be"),
    ([("chr1", 0.5, 10)], ValueError, "anchors\\[0\\]: start must be a whole number"),
    ([("chr1", 10)], ValueError, "anchors\\[0\\]: expected"),
    (["chrUn:0-10"], ValueError, "none of the 1 anchors is on a chromosome of the data"),
    (3, TypeError, "anchors must be"),
    (pd.DataFrame({"chrom": ["chr1"], "begin": [0]}), ValueError, "no column\\(s\\) 'start', 'end'"),
    (pd.DataFrame({"chrom": ["chr1"], "start": [5], "end": [5]}), ValueError, "row 0 has start 5 and end 5"),
])
def test_anchor_errors(anchors, error, match):
    with pytest.raises(error, match=match):
        fragcov.profile(adata(), "cell_type", anchors, n_jobs=1)


def test_anchor_forms(tmp_path):
    """BED 3 / 6 / narrowPeak, gzip, region strings, tuples and a DataFrame give the same anchors."""
    rows = [("chr1", 5_000, 5_400, "+"), ("chr1", 20_000, 20_001, "-"), ("chr2", 100, 200, ".")]
    bed6 = tmp_path / "a.bed"
    bed6.write_text("track name=x\n#comment\n\n" + "".join(f"{c}\t{s}\t{e}\tn{i}\t0\t{st}\n"
                                                           for i, (c, s, e, st) in enumerate(rows)))
    bed3 = tmp_path / "a3.bed.gz"
    with gzip.open(bed3, "wt") as fh:
        fh.write("".join(f"{c} {s} {e}\r\n" for c, s, e, _ in rows))  # spaces and CRLF
    peaks = tmp_path / "p.narrowPeak"
    peaks.write_text("".join(f"{c}\t{s}\t{e}\tp{i}\t5\t{st}\t1.0\t2.0\t3.0\t50\n" for i, (c, s, e, st)
                             in enumerate(rows)))
    base = run(anchors=str(bed6), reference_point="start")
    assert base.anchors["name"].tolist() == ["n0", "n1", "n2"]
    assert base.anchors["strand"].tolist() == ["+", "-", "."]
    same = [run(anchors=peaks, reference_point="start"),
            run(anchors=[(c, s, e, st) for c, s, e, st in rows], reference_point="start"),
            run(anchors=pd.DataFrame(rows, columns=["chrom", "start", "end", "strand"]), reference_point="start")]
    for other in same:
        for g in base.matrices:
            np.testing.assert_array_equal(other.matrices[g], base.matrices[g])
    unstranded = run(anchors=bed3, reference_point="start")
    assert unstranded.anchors["strand"].tolist() == [".", ".", "."]
    assert unstranded.anchors["name"].tolist() == ["chr1:5000-5400", "chr1:20000-20001", "chr2:100-200"]
    strings = run(anchors=[f"{c}:{s:,}-{e:,}" for c, s, e, _ in rows], reference_point="start")
    for g in base.matrices:
        np.testing.assert_array_equal(strings.matrices[g], unstranded.matrices[g])
    one = run(anchors="chr1:5,000-5,400")
    assert len(one.anchors) == 1


GTF = """# a comment
chr1\tt\tgene\t20001\t25000\t.\t+\t.\tgene_id "G1"; gene_name "Alpha;1";
chr1\tt\ttranscript\t20001\t24000\t.\t+\t.\tgene_id "G1"; transcript_id "T1";
chr1\tt\texon\t20001\t20500\t.\t+\t.\tgene_id "G1"; transcript_id "T1";
chr2\tt\texon\t30001\t31000\t.\t-\t.\tgene_id "G2"; transcript_id "T2";
chr2\tt\texon\t29001\t29500\t.\t-\t.\tgene_id "G2"; transcript_id "T2"; gene_name "Beta";
chrUn\tt\texon\t1\t10\t.\t+\t.\tgene_id G3; gene_name Gamma;
"""

GFF3 = """##gff-version 3
chr1\tt\tgene\t20001\t25000\t.\t+\t.\tID=gene:G1;Name=Alpha%3B1
chr1\tt\tmRNA\t20001\t24000\t.\t+\t.\tID=T1;Parent=gene:G1
chr2\tt\tncRNA_gene\t29001\t31000\t.\t-\t.\tID=gene:G2;gene_name=Beta
chr1\tt\tpseudogene\t60001\t60100\t.\t-\t.\tID=gene:G4
##FASTA
>chr1
ACGT
"""


def test_gene_annotations_give_one_anchor_per_gene_at_its_tss(tmp_path):
    gtf, gff = tmp_path / "genes.gtf", tmp_path / "genes.gff3.gz"
    gtf.write_text(GTF)
    with gzip.open(gff, "wt") as fh:
        fh.write(GFF3)
    with pytest.warns(fragcov.FragcovWarning, match="1 of 3 anchors are on chromosomes the data does not have"):
        warnings.filterwarnings("ignore", "group 'D' has no fragments")
        r = fragcov.profile(adata(), "cell_type", gtf, n_jobs=1, reference_point="end")
    a = r.anchors
    assert a[["chrom", "start", "end", "name", "strand", "position"]].values.tolist() == [
        ["chr1", 20_000, 20_001, "Alpha;1", "+", 20_000], ["chr2", 30_999, 31_000, "Beta", "-", 30_999]]
    assert r.reference_point == "start"  # every reference point is the TSS
    tss = [("chr1", 20_000, 20_001, "+"), ("chr2", 30_999, 31_000, "-")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fragcov.FragcovWarning)
        check(r, expected(anchors=tss), "gtf")
        g = fragcov.profile(adata(), "cell_type", gff, n_jobs=1)
    assert g.anchors["name"].tolist() == ["Alpha;1", "Beta", "gene:G4"]
    assert g.anchors["position"].tolist() == [20_000, 30_999, 60_099]
    for key in r.matrices:
        np.testing.assert_array_equal(g.matrices[key][:2], r.matrices[key])


@pytest.mark.parametrize("name, text, match", [
    ("a.bed", "chr1\t10\n", "a.bed, line 1: expected at least 3 columns"),
    ("a.bed", "chr1\t0\t10\nchr1\t-5\t10\n", "a.bed, line 2: start must be a whole number, got '-5'"),
    ("a.bed", "chr1\t0\t10\nchr1\t20\t10\n", "a.bed, line 2: need start < end"),
    ("a.bed", "chr1\t0\t10\tn\t0\t+\nchr1\t1\t2\tn\t0\tminus\n", "a.bed, line 2: the strand must be"),
    ("a.bed", "chr1\t1e3\t2000\n", "a.bed, line 1: start must be a whole number, got '1e3'"),
    ("a.bed", "chr1\t0\t99999999999999999999\n", "a.bed, line 1: end 99999999999999999999 is past 2\\^62"),
    ("a.bed", "# only a comment\n\n", "anchors: .*a.bed holds no anchor"),
    ("a.bed", "", "holds no anchor"),
    ("g.gtf", "chr1\tt\texon\t1\t10\t.\t+\t.\ttranscript_id \"T\";\n", "g.gtf, line 1: no gene_id attribute"),
    ("g.gtf", "chr1\tt\texon\t0\t10\t.\t+\t.\tgene_id \"G\";\n", "g.gtf, line 1: need 1 <= start <= end"),
    ("g.gtf", "chr1\tt\texon\t1\t10\t.\t+\n", "g.gtf, line 1: expected 9 tab-separated columns"),
    ("g.gtf", "chr1\tt\texon\t1\t10\t.\t+\t.\tgene_id \"G\";\nchr1\tt\texon\t20\t30\t.\t-\t.\tgene_id \"G\";\n",
     "g.gtf, line 2: gene 'G' is on chr1 \\+ in an earlier line and on chr1 - here"),
    ("g.gtf", "chr1\tt\texon\t1\t10\t.\t+\t.\tgene_id \"G;\n", "g.gtf, line 1: cannot read the attributes"),
    ("g.gff3", "chr1\tt\tmRNA\t1\t10\t.\t+\t.\tID=T\n", "g.gff3 holds no anchor \\(no gene\\)"),
])
def test_anchor_file_errors_name_the_file_and_line(tmp_path, name, text, match):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        fragcov.profile(adata(), "cell_type", path, n_jobs=1)


def test_anchor_file_odd_bytes(tmp_path):
    path = tmp_path / "a.bed"
    path.write_bytes(b"chr1\t0\t10\tok\nchr1\t0\t10\t\xff\xfe\n")
    with pytest.raises(ValueError, match=r"a.bed, line 2: not UTF-8 text"):
        fragcov.profile(adata(), "cell_type", path, n_jobs=1)
    with pytest.raises(FileNotFoundError, match="anchors: file not found"):
        fragcov.profile(adata(), "cell_type", tmp_path / "missing.bed", n_jobs=1)
    with pytest.raises(IsADirectoryError):
        fragcov.profile(adata(), "cell_type", tmp_path, n_jobs=1)
    # a control character or quote inside a name is kept (and made one field in deepTools' file)
    path.write_bytes(b'chr1\t0\t10\tgene "x"\x0b\x1f\t0\t+\n')
    r = run(anchors=path)
    assert r.anchors["name"].tolist() == ['gene "x"\x0b\x1f']


def test_no_labelled_cell():
    with pytest.warns(fragcov.FragcovWarning, match="no cell has a group label"):
        r = fragcov.profile(adata([None] * N_CELLS), "cell_type", ANCHORS, n_jobs=1)
    assert r.matrices == {} and r.tss_enrichment == {}
