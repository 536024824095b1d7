"""Draw docs/tracks.png: one locus of the demo dataset across cell types.

    python docs/make_figure.py          # needs matplotlib and pyBigWig

Exports the bundled demo data with fragcov, reads the bigWigs back and plots
the same window for every group, as a genome browser would show them.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pyBigWig

import fragcov
from fragcov.demo import DEMO

CHROM, START, END = "chr21", 7_930_000, 7_960_000


def main(out=Path(__file__).resolve().parent / "tracks.png"):
    fragcov.set_quiet()
    with tempfile.TemporaryDirectory() as tmp:
        tracks = fragcov.export_coverage(DEMO / "fragments.tsv.gz", DEMO / "groups.tsv", bin_size=20,
                                         normalization="CPM", smooth_base=200, out_dir=tmp,
                                         chrom_sizes=DEMO / "chrom.sizes")
        fig, axes = plt.subplots(len(tracks), 1, figsize=(9, 1.3 * len(tracks) + 0.6), sharex=True)
        for ax, (group, path), color in zip(axes, tracks.items(), plt.cm.tab10.colors):
            bw = pyBigWig.open(path)
            values = np.nan_to_num(np.array(bw.values(CHROM, START, END)))
            bw.close()
            x = np.arange(START, END)
            ax.fill_between(x, values, step="post", color=color, linewidth=0)
            ax.text(0.01, 0.85, group, transform=ax.transAxes, fontsize=11, color=color, weight="bold")
            ax.set_ylabel("CPM")
            ax.spines[["top", "right"]].set_visible(False)
            ax.set_ylim(0, None)
        axes[-1].set_xlabel(f"{CHROM} position (fragment CPM, 20-bp bins, 200-bp smoothing)")
        axes[-1].ticklabel_format(axis="x", style="plain")
        fig.suptitle("fragcov demo: one track per cell type", x=0.01, ha="left")
        fig.tight_layout()
        fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
