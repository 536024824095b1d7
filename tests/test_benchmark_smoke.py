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
