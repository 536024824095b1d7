"""``fragcov demo``: tracks from the small dataset bundled with the package."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

DEMO = Path(__file__).resolve().parent / "data" / "demo"


def run_demo(out_dir="fragcov-demo") -> dict[str, str]:
    """Import the bundled fragments, export one bigWig per cell type, and say where they are."""
    from ._export import export_coverage
    from ._fragment_file import read_groups_table
    from ._import import import_fragments

    t0 = time.perf_counter()
    adata = import_fragments(DEMO / "fragments.tsv.gz", DEMO / "chrom.sizes", min_num_fragments=0)
    assert not isinstance(adata, list)  # one file in, one AnnData out
    groups = read_groups_table(DEMO / "groups.tsv")["group"]  # cell type by barcode
    adata.obs["cell_type"] = groups.reindex(adata.obs_names).to_numpy()
    n_frag = adata.obsm["fragment_paired"].nnz
    print(f"imported {n_frag:,} fragments of {adata.n_obs} cells ({', '.join(sorted(set(groups)))})")

    out = Path(out_dir)
    tracks = export_coverage(adata, groupby="cell_type", out_dir=out, suffix=".bw", bin_size=10,
                             normalization="RPKM", n_jobs=2)
    bedgraphs = export_coverage(adata, groupby="cell_type", out_dir=out, suffix=".bedgraph.gz",
                                bin_size=100, normalization="CPM", counting_strategy="insertion", n_jobs=2)
    print(f"exported {len(tracks)} bigWig + {len(bedgraphs)} bedGraph tracks in {time.perf_counter() - t0:.1f} s:")
    for path in [*tracks.values(), *bedgraphs.values()]:
        print(f"  {path}  ({Path(path).stat().st_size / 1024:.0f} KiB)")
    _print_peaks(tracks)
    print(f"\nOpen the .bw files in IGV (File > Load from File, genome hg38) or read them with pyBigWig;\n"
          f"the .bedgraph.gz files are plain text: zcat '{next(iter(bedgraphs.values()))}' | head")
    return tracks


def _print_peaks(tracks: dict[str, str]) -> None:
    """Strongest 10-bp bin of each group, read back from its bigWig (if pyBigWig is installed)."""
    try:
        import pyBigWig
    except ImportError:
        return
    print("\nstrongest bin per group (RPKM):")
    for group, path in tracks.items():
        bw = pyBigWig.open(path)
        best = (0.0, "", 0, 0)
        for chrom in bw.chroms():
            iv = bw.intervals(chrom) or []
            if iv:
                vals = np.array([v for _, _, v in iv])
                k = int(vals.argmax())
                if vals[k] > best[0]:
                    best = (float(vals[k]), chrom, iv[k][0], iv[k][1])
        bw.close()
        print(f"  {group:12s} {best[1]}:{best[2]:,}-{best[3]:,}  {best[0]:.1f}")
