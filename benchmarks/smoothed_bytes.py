"""Bytes of smoothed bigWigs (bin_size=20, smooth_base=51 unless given) written by fragcov builds and
by SnapATAC2 2.9.0 from the same fragment file, per group and in total, with each build's export time
(issue #31: smoothed files at <= 60% of SnapATAC2's bytes).

    python benchmarks/smoothed_bytes.py FRAGMENTS GROUPS.tsv CHROM_SIZES OUT \
        --fragcov new=$(which python) --fragcov base=/path/to/other/python --snapatac2 PEERS/bin/python

GROUPS.tsv: barcode<TAB>group (a header line `barcode<TAB>...` is skipped). SnapATAC2 imports the file
(`import_fragments(sorted_by_barcode=False)`) and exports the same groups.

`parts` splits each build's bytes (all groups) into data blocks, the data R-tree (32 bytes per block),
zoom levels (their blocks and R-trees) and the rest (header, chromosome tree), with the block count;
`finest_zoom` gives each file's finest zoom level (bases per summary): per-block costs (R-tree entry,
section header, zlib framing) and the peer's zoom levels (bigtools picks their resolution per file)
are what the ratios depend on beyond the encoding of the values.
"""
from __future__ import annotations

import argparse
import json
import struct
import subprocess
import time
from pathlib import Path

FRAGCOV = """
import sys, fragcov
frag, table, sizes, out, bin_size, smooth = sys.argv[1:7]
fragcov.set_quiet(True)
fragcov.export_coverage(frag, table, chrom_sizes=sizes, out_dir=out, bin_size=int(bin_size),
                        smooth_base=int(smooth), suffix=".bw", n_jobs=2)
"""

SNAP = """
import sys, snapatac2 as snap
frag, table, sizes, out, bin_size, smooth = sys.argv[1:7]
chroms = dict((l.split()[0], int(l.split()[1])) for l in open(sizes) if l.strip())
labels = dict(l.rstrip("\\n").split("\\t")[:2] for l in open(table) if l.strip() and not l.startswith("barcode\\t"))
a = snap.pp.import_fragments(frag, chrom_sizes=chroms, min_num_fragments=0, sorted_by_barcode=False,
                             file=out + ".h5ad", whitelist=list(labels))
a.obs["group"] = [labels[b] for b in a.obs_names]
snap.ex.export_coverage(a, groupby="group", bin_size=int(bin_size), smooth_base=int(smooth), out_dir=out,
                        suffix=".bw", n_jobs=2)
"""


def _rtree_leaves(raw: bytes, offset: int) -> list[tuple[int, int]]:
    """(offset, size) of the blocks an R-tree (bbi cirTree at `offset`) points to."""
    out = []

    def walk(node):
        is_leaf, _, n = struct.unpack_from("<BBH", raw, node)
        for i in range(n):
            if is_leaf:
                out.append(struct.unpack_from("<QQ", raw, node + 4 + 32 * i + 16))
            else:
                walk(struct.unpack_from("<Q", raw, node + 4 + 24 * i + 16)[0])

    walk(offset + 48)  # the R-tree header is 48 bytes
    return out


def parts(path: Path) -> dict:
    """Bytes of one bigWig by part (UCSC bbi layout: data blocks, then the data R-tree, then the zoom
    levels, whatever the writer; bigtools and fragcov both write them in that order)."""
    raw = path.read_bytes()
    _, _, n_zooms, _, _, index_offset = struct.unpack_from("<IHHQQQ", raw, 0)
    zoom_data = [struct.unpack_from("<Q", raw, 64 + 24 * k + 8)[0] for k in range(n_zooms)]
    finest = struct.unpack_from("<I", raw, 64)[0] if n_zooms else None
    blocks = _rtree_leaves(raw, index_offset)
    zoom_start = min(zoom_data, default=len(raw) - 4)
    if zoom_start < index_offset:
        raise ValueError(f"{path}: zoom levels before the data R-tree, not a layout this script knows")
    data = sum(size for _, size in blocks)
    index = zoom_start - index_offset
    zoom = len(raw) - 4 - zoom_start
    return dict(blocks=len(blocks), data_blocks=data, data_index=index, zoom_levels=zoom,
                other=len(raw) - data - index - zoom, finest_zoom=finest)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fragments")
    ap.add_argument("groups")
    ap.add_argument("chrom_sizes")
    ap.add_argument("out", type=Path)
    ap.add_argument("--fragcov", action="append", default=[], help="NAME=PYTHON of a fragcov build")
    ap.add_argument("--snapatac2", help="a Python with snapatac2 2.9.0")
    ap.add_argument("--bin-size", type=int, default=20)
    ap.add_argument("--smooth-base", type=int, default=51)
    a = ap.parse_args(argv)
    runs = [(name, py, FRAGCOV) for name, py in (x.split("=", 1) for x in a.fragcov)]
    if a.snapatac2:
        runs.append(("snapatac2", a.snapatac2, SNAP))
    sizes, times, split, zooms = {}, {}, {}, {}
    for name, py, script in runs:
        out = a.out / name
        t0 = time.perf_counter()
        subprocess.run([py, "-c", script, a.fragments, a.groups, a.chrom_sizes, str(out), str(a.bin_size),
                        str(a.smooth_base)], check=True)
        times[name] = round(time.perf_counter() - t0, 2)
        sizes[name] = {p.name.rsplit(".", 1)[0]: p.stat().st_size for p in out.glob("*.bw")}
        split[name], zooms[name] = {}, {}
        for p in out.glob("*.bw"):
            part = parts(p)
            zooms[name][p.name.rsplit(".", 1)[0]] = part.pop("finest_zoom")
            for k, v in part.items():
                split[name][k] = split[name].get(k, 0) + v
    report = dict(seconds=times, bytes={n: sum(s.values()) for n, s in sizes.items()}, parts=split,
                  finest_zoom=zooms)
    if "snapatac2" in sizes:
        snap = sizes["snapatac2"]
        for name in sizes:
            if name != "snapatac2":
                per = {g: round(b / snap[g], 3) for g, b in sizes[name].items() if g in snap}
                report[f"{name} / snapatac2"] = dict(total=round(sum(sizes[name].values()) / sum(snap.values()), 4),
                                                     worst=max(per.values()), worst_group=max(per, key=per.get),
                                                     per_group=per)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
