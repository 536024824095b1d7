"""User notices (docs/spec.md 1.7.2, 10.5.3): a Python session sees them as
FragcovWarning warnings, the CLI prints each as one `fragcov: warning:` line,
and the demo's progress lines say which export they belong to."""
from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

import fragcov
from fragcov import FragcovWarning

FRAGMENTS = "chr1\t10\t60\tAAA-1\t1\nchr1\t20\t90\tAAA-1\t1\nchrUn\t5\t50\tAAA-1\t1\nchrUn\t7\t70\tBBB-1\t1\n"


def test_fragcov_warning_is_a_public_user_warning():
    assert issubclass(FragcovWarning, UserWarning)
    assert "FragcovWarning" in fragcov.__all__


def test_lines_on_unknown_chromosomes_are_a_warning_python_shows(tmp_path):
    """They went to logging.info before, which a Python session does not print."""
    frag = tmp_path / "f.tsv"
    frag.write_text(FRAGMENTS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's own filters, as a fresh session has them
        fragcov.import_fragments(frag, {"chr1": 1000}, min_num_fragments=0)
    messages = [str(w.message) for w in caught if issubclass(w.category, FragcovWarning)]
    assert any("2 line(s) on chromosomes not in chrom_sizes were skipped" in m and str(frag) in m
               for m in messages), messages


def test_the_warning_can_be_silenced_by_category(tmp_path):
    frag = tmp_path / "f.tsv"
    frag.write_text(FRAGMENTS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        warnings.filterwarnings("ignore", category=FragcovWarning)
        fragcov.import_fragments(frag, {"chr1": 1000}, min_num_fragments=0)
    assert not [w for w in caught if issubclass(w.category, FragcovWarning)]


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "fragcov", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_cli_prints_a_warning_as_one_line_without_python_internals(tmp_path):
    frag = tmp_path / "f.tsv"
    frag.write_text(FRAGMENTS)
    (tmp_path / "chrom.sizes").write_text("chr1\t1000\n")
    r = _cli("import-fragments", str(frag), "--chrom-sizes", str(tmp_path / "chrom.sizes"), "--output",
             str(tmp_path / "a.h5ad"), "--min-num-fragments", "0", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if "chromosomes not in chrom_sizes" in ln]
    assert lines == [f"fragcov: warning: {frag}: 2 line(s) on chromosomes not in chrom_sizes were skipped"]
    assert "UserWarning" not in r.stderr and "FragcovWarning" not in r.stderr and ".py:" not in r.stderr
    # --debug keeps Python's format, with file and line
    r = _cli("--debug", "import-fragments", str(frag), "--chrom-sizes", str(tmp_path / "chrom.sizes"), "--output",
             str(tmp_path / "b.h5ad"), "--min-num-fragments", "0", cwd=tmp_path)
    assert r.returncode == 0 and "FragcovWarning" in r.stderr


def test_cli_warning_of_an_empty_group(tmp_path):
    frag = tmp_path / "f.tsv"
    frag.write_text(FRAGMENTS)
    (tmp_path / "groups.tsv").write_text("AAA-1\tA\nBBB-1\tB\n")
    (tmp_path / "chrom.sizes").write_text("chr1\t1000\n")  # B's only fragment is on chrUn
    r = _cli("export-coverage", str(frag), "--groups", str(tmp_path / "groups.tsv"), "--chrom-sizes",
             str(tmp_path / "chrom.sizes"), "--out-dir", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    warning_lines = [ln for ln in r.stderr.splitlines() if "warning:" in ln.lower()]
    assert any("group 'B' has no fragments" in ln for ln in warning_lines), r.stderr
    assert all(ln.startswith("fragcov: warning: ") for ln in warning_lines), r.stderr


def test_demo_progress_lines_are_distinct(tmp_path):
    """The demo exports twice; its progress lines say bigWig and bedGraph, not the same line twice."""
    r = _cli("demo", "--out-dir", str(tmp_path / "demo"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    exporting = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.startswith("exporting")]
    assert len(exporting) == 2 and len(set(exporting)) == 2, exporting
    assert any("bigWig" in ln for ln in exporting) and any("bedGraph (gzip)" in ln for ln in exporting)


@pytest.mark.parametrize("suffix,expected", [(".bw", "bigWig"), (".bedgraph", "bedGraph"),
                                             (".bedgraph.zst", "bedGraph (zstandard)")])
def test_progress_line_names_the_format(tmp_path, caplog, suffix, expected):
    import logging

    frag = tmp_path / "f.tsv"
    frag.write_text(FRAGMENTS)
    with caplog.at_level(logging.INFO, logger="fragcov"), warnings.catch_warnings():
        warnings.simplefilter("ignore", FragcovWarning)
        fragcov.export_coverage(frag, {"AAA-1": "A"}, chrom_sizes={"chr1": 1000}, out_dir=tmp_path / "o",
                                suffix=suffix)
    assert f"exporting 1 {expected} track(s) to" in caplog.text
