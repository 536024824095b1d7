"""A tiny run of the benchmark harness (benchmarks are not timed tests;
CI only checks that the harness still works end to end).

Generates 20k synthetic fragments, imports them, runs every smoke case with
fragcov in fresh processes and checks the report. Nothing here asserts a time.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_benchmark_harness_smoke_run(tmp_path):
    report = tmp_path / "smoke.md"
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run_benchmarks.py"), "--smoke", "--tools", "fragcov",
         "--work-dir", str(tmp_path / "work"), "--markdown", str(report)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:]
    text = report.read_text()
    for case in ("default_bw", "bedgraph_zst", "insertion", "smooth", "threads n_jobs=1", "threads n_jobs=2",
                 "file_tracks", "import_position", "import_barcode"):
        assert case in text, f"case {case!r} missing from the report:\n{text}"
    assert "fragcov: outputs byte-identical across n_jobs=1, n_jobs=2" in proc.stdout + text


def test_atlas_harness_smoke_run(tmp_path):
    """benchmarks/atlas_bench.py end to end at a tiny scale: N sample files and the merged
    sample#barcode file give the same tracks (the suite asserts the hashes agree across repeats)."""
    bench = str(REPO / "benchmarks" / "atlas_bench.py")
    subprocess.run([sys.executable, bench, "generate", "--samples", "3", "--fragments", "5k", "--cells", "100",
                    "--out", str(tmp_path / "a")], check=True, timeout=300)
    import json

    runs = [json.loads(subprocess.run([sys.executable, bench, "run", str(tmp_path / "a"), "--n-jobs", "2", *m],
                                      check=True, capture_output=True, text=True, timeout=300).stdout)
            for m in ((), ("--merged",))]
    assert runs[0]["tracks"] == 12 and runs[0]["sha256"] == runs[1]["sha256"]
