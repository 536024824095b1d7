"""Ctrl-C during an export leaves only complete files (docs/spec.md section 6.5)."""
from __future__ import annotations

import gzip
import os
import textwrap

import pytest
from helpers import interrupt_at_gate

SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np, pandas as pd, anndata as ad, scipy.sparse as sp
    import fragcov
    rng = np.random.default_rng(1)
    n_cells, n_frag, glen = 200, 1_000_000, 20_000_000
    counts = rng.multinomial(n_frag, np.full(n_cells, 1 / n_cells))
    indptr = np.concatenate([[0], np.cumsum(counts)])
    cols = np.concatenate([np.sort(rng.integers(0, glen - 1000, c)) for c in counts]).astype(np.int64)
    lens = rng.integers(30, 600, n_frag).astype(np.uint32)
    a = ad.AnnData(obs=pd.DataFrame({"g": [f"g{i % 8}" for i in range(n_cells)]},
                                    index=[f"c{i}" for i in range(n_cells)]))
    a.obsm["fragment_paired"] = sp.csr_matrix((lens, cols, indptr), shape=(n_cells, glen))
    a.uns["reference_sequences"] = pd.DataFrame({"reference_seq_name": ["chr1", "chr2"],
        "reference_seq_length": np.array([glen // 2, glen // 2], np.uint64)})
    print("READY", flush=True)
    fragcov.export_coverage(a, "g", bin_size=1, smooth_base=9, suffix=".bedgraph.gz",
                            compression_level=9, out_dir=sys.argv[1], n_jobs=2)
    print("DONE", flush=True)
    """
)


@pytest.mark.parametrize("gate", ["bin chunk", "write track"])  # while binning; while writing the tracks
def test_sigint_leaves_only_complete_files(tmp_path, gate):
    """The core's test gate (cpp/src/util/test_gate.hpp) holds the export at `gate` until it is
    cancelled, so the signal lands there whatever the machine's speed."""
    out = tmp_path / "out"
    interrupt_at_gate(SCRIPT, [out], gate=gate, tmp_path=tmp_path)
    left = sorted(os.listdir(out)) if out.exists() else []
    assert not [n for n in left if n.startswith(".")], f"temporary files left: {left}"
    for name in left:  # every file that exists must be a complete gzip stream
        with gzip.open(out / name) as fh:
            data = fh.read()
        assert data.endswith(b"\n")
