"""Bad input: a clear exception before any output exists (docs/spec.md section 6)."""
from __future__ import annotations

import os

import anndata as ad
import hdf5plugin  # noqa: F401
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import fragcov
from helpers import DATA
from pathlib import Path

SNAP = DATA / "snapatac2" / "tiny.snap.h5ad"


def tiny_adata(labels=("a", "b")):
    a = ad.AnnData(obs=pd.DataFrame({"grp": list(labels)}, index=[f"c{i}" for i in range(len(labels))]))
    n = len(labels)
    a.obsm["fragment_paired"] = sp.csr_matrix(
        (np.full(n, 50, np.uint32), np.arange(n, dtype=np.int64) * 100, np.arange(n + 1)), shape=(n, 1000))
    a.uns["reference_sequences"] = pd.DataFrame(
        {"reference_seq_name": ["chr1"], "reference_seq_length": np.array([1000], np.uint64)})
    return a


def no_fragments():
    a = tiny_adata()
    del a.obsm["fragment_paired"]
    return a


def no_reference():
    a = tiny_adata()
    del a.uns["reference_sequences"]
    return a


def huge_chromosome():
    a = tiny_adata()
    a.uns["reference_sequences"] = pd.DataFrame(
        {"reference_seq_name": ["chr1"], "reference_seq_length": np.array([2**32], np.uint64)})
    return a


def bad_bed(tmp_path):
    p = tmp_path / "bad.bed"
    p.write_text("chr1\t10\t20\nchr1\tten\t30\n")
    return str(p)


def short_bed(tmp_path):
    p = tmp_path / "short.bed"
    p.write_text("# comment\nchr1\t10\n")
    return str(p)


# (id, kwargs (callables get tmp_path), exception, message fragment)
CASES = [
    ("no-fragments", dict(adata=no_fragments), ValueError, r"fragment_paired.*import_fragments"),
    ("no-reference", dict(adata=no_reference), ValueError, r"reference_sequences"),
    ("normalization", dict(normalization="TPM"), ValueError, r"unknown normalization 'TPM'"),
    ("counting", dict(counting_strategy="reads"), ValueError, r"counting_strategy 'reads'"),
    ("format", dict(output_format="bam"), ValueError, r"unknown output_format 'bam'"),
    ("compression", dict(suffix=".bedgraph", compression="bz2"), ValueError, r"unknown compression 'bz2'"),
    ("suffix-no-format", dict(suffix=".txt"), ValueError, r"cannot tell the output format.*output_format"),
    ("bigwig-compressed", dict(suffix=".bw", compression="gzip"), ValueError, r"compressed internally.*'gzip'"),
    ("bigwig-gz-suffix", dict(suffix=".bw.gz"), ValueError, r"compressed internally"),
    ("bigwig-chrom-too-long", dict(adata=huge_chromosome, suffix=".bw"), ValueError,
     r"chr1 is too long for bigWig"),
    ("bin-size-0", dict(bin_size=0), ValueError, r"bin_size must be >= 1"),
    ("bin-size-float", dict(bin_size=2.5), TypeError, r"bin_size must be a whole number"),
    ("smooth-0", dict(smooth_base=0), ValueError, r"smooth_base must be >= 1"),
    ("gzip-level", dict(suffix=".bedgraph.gz", compression_level=10), ValueError,
     r"gzip compression_level must be 1-9"),
    ("zstd-level", dict(suffix=".bedgraph.zst", compression_level=23), ValueError,
     r"zstandard compression_level must be 1-22"),
    ("min-gt-max", dict(min_frag_length=300, max_frag_length=100), ValueError, r"min_frag_length.*larger"),
    ("region-string", dict(exclude_for_norm=["chr1:100"]), ValueError, r"exclude_for_norm\[0\].*'chr1:100'"),
    ("region-reversed", dict(include_for_norm=["chr1:200-100"]), ValueError, r"starts after it ends"),
    ("bed-line", dict(blacklist=bad_bed), ValueError, r"bad.bed, line 2"),
    ("bed-columns", dict(blacklist=short_bed), ValueError, r"short.bed, line 2.*3 columns"),
    ("bed-missing", dict(blacklist="/nonexistent/black.bed"), FileNotFoundError, r"black.bed"),
    ("input-missing", dict(adata="/nonexistent/data.h5ad"), FileNotFoundError, r"data.h5ad"),
    ("input-type", dict(adata=42), TypeError, r"adata must be"),
    ("groupby-column", dict(groupby="cluster"), ValueError, r"'cluster' is not a column.*grp"),
    ("groupby-length", dict(groupby=["a", "b", "c"]), ValueError, r"3 labels but the data has 2 cells"),
    ("groupby-list-of-columns", dict(groupby=["grp"]), ValueError, r"pass its name as a string"),
    ("selection", dict(selections=["a", "zzz"]), ValueError, r"'zzz'.*available groups: 'a', 'b'"),
    ("group-file-name", dict(adata=lambda: tiny_adata(("x" * 300, "b"))), ValueError, r"309 bytes long.*255-byte"),
    ("group-name-clash", dict(adata=lambda: tiny_adata(("a/b", "a+b"))), ValueError, r"same file name"),
    ("tempdir", dict(tempdir="/nonexistent/tmp"), FileNotFoundError, r"tempdir"),
    ("n-jobs", dict(n_jobs="all"), TypeError, r"n_jobs"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_before_writing(case, tmp_path):
    _, kwargs, exc, pattern = case
    kw = dict(adata=tiny_adata, groupby="grp", suffix=".bedgraph")
    kw.update(kwargs)
    for k, v in list(kw.items()):
        if callable(v):
            kw[k] = v(tmp_path) if v in (bad_bed, short_bed) else v()
    out = tmp_path / "out"
    with pytest.raises(exc, match=pattern):
        fragcov.export_coverage(out_dir=out, **kw)
    assert not out.exists(), "out_dir must not be created for bad input"


def test_out_dir_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(NotADirectoryError, match="not a directory"):
        fragcov.export_coverage(tiny_adata(), "grp", out_dir=f)
    assert f.read_text() == "x"


# Run as an unprivileged user: root may write anywhere, so as root (CI) the export
# runs in a child process that first exports once as root (importing every module
# it needs from root-only paths such as /root/.pyenv), then drops to uid/gid 65534
# (nobody) and exports into a folder it cannot write.
_UNPRIVILEGED_EXPORT = """
import os, sys
sys.path.insert(0, sys.argv[3])
import fragcov
from test_errors import tiny_adata
fragcov.export_coverage(tiny_adata(), "grp", out_dir=sys.argv[2], suffix=".bedgraph")  # warm-up as root
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
assert os.geteuid() == 65534
try:
    fragcov.export_coverage(tiny_adata(), "grp", out_dir=sys.argv[1], suffix=".bedgraph")
except PermissionError as err:
    print("PermissionError:", err)
else:
    print("no error")
"""


def test_out_dir_not_writable(tmp_path):
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    if os.geteuid() != 0:
        d = tmp_path / "ro"
        d.mkdir()
        d.chmod(0o500)
        with pytest.raises(PermissionError, match="not writable"):
            fragcov.export_coverage(tiny_adata(), "grp", out_dir=d)
        assert os.listdir(d) == []
        return
    base = Path(tempfile.mkdtemp(prefix="fragcov-test-ro-"))  # pytest's tmp_path is root-only
    try:
        base.chmod(0o755)
        d = base / "ro"
        d.mkdir(mode=0o755)  # root's folder: nobody may enter it but not write it
        r = subprocess.run([sys.executable, "-c", _UNPRIVILEGED_EXPORT, str(d), str(tmp_path / "warm"),
                            str(Path(__file__).parent)], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        assert f"PermissionError: out_dir '{d}' is not writable" in r.stdout, r.stdout + r.stderr[-3000:]
        assert os.listdir(d) == []
    finally:
        import shutil
        shutil.rmtree(base)


def test_write_failure_leaves_nothing(tmp_path, monkeypatch):
    """An error while writing (here: the rename target is a directory) leaves no temporary file
    and does not clobber what was there."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.bedgraph").mkdir()  # cannot rename a file onto a directory
    (out / "b.bedgraph").write_text("old\n")
    with pytest.raises(Exception, match=r"a.bedgraph"):
        fragcov.export_coverage(tiny_adata(), "grp", out_dir=out, suffix=".bedgraph", n_jobs=1,
                                selections=["a"])
    assert sorted(os.listdir(out)) == ["a.bedgraph", "b.bedgraph"]
    assert (out / "b.bedgraph").read_text() == "old\n"


def test_empty_group_writes_valid_empty_tracks(tmp_path):
    a = tiny_adata(("a", "b"))
    a.obsm["fragment_paired"] = sp.csr_matrix(
        (np.array([50], np.uint32), np.array([100], np.int64), np.array([0, 1, 1])), shape=(2, 1000))
    import pyBigWig

    with pytest.warns(UserWarning, match="'b' has no fragments"):
        paths = fragcov.export_coverage(a, "grp", out_dir=tmp_path, suffix=".bw")
    bw = pyBigWig.open(paths["b"])
    assert bw.chroms() == {"chr1": 1000} and bw.intervals("chr1") is None
    bw.close()
    with pytest.warns(UserWarning, match="'b' has no fragments"):
        paths = fragcov.export_coverage(a, "grp", out_dir=tmp_path, suffix=".bedgraph.gz")
    import gzip

    assert gzip.decompress(Path(paths["b"]).read_bytes()) == b""
