#!/usr/bin/env python3
"""Where the time of a fragment file -> tracks / .h5ad run goes, next to the floor of each stage.

Each stage runs alone, in this process, and is timed (wall and CPU of all threads):

  read         the compressed file's bytes from the page cache (the I/O floor)
  inflate      decompression alone: zlib's gzip reader on one thread (single-member gzip)
               or libdeflate per BGZF block (the file's own codec; Python's zlib/bgzf loop
               for gzip, the reader's own worker pool for BGZF is in "parse (file)")
  parse        fragcov's reader over the same text stored uncompressed (parse floor:
               decompression excluded), then over the original file (parse + inflate)
  export       export_coverage(path, groups, chrom_sizes=...) default bigWig: the whole run
  import       import_fragments(path, file=...) with the file's natural sort flag

Usage (the file is decompressed once to --scratch for the parse floor):

  python benchmarks/profile_fragment_files.py DATA_DIR/fragments.position.tsv.gz \\
      --groups DATA_DIR/groups.tsv --chrom-sizes DATA_DIR/chrom.sizes --n-jobs 2
  python benchmarks/profile_fragment_files.py DATA_DIR/fragments.tsv.gz --sorted ...
"""
from __future__ import annotations

import argparse
import gzip
import os
import resource
import shutil
import tempfile
import time
import zlib



def timed(label: str, fn, results: list):
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    extra = fn()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    results.append((label, wall, cpu, extra or ""))
    print(f"{label:<34} {wall:7.2f} s wall {cpu:7.2f} s CPU  {extra or ''}", flush=True)


def read_bytes(path: str) -> str:
    n = 0
    with open(path, "rb", buffering=0) as fh:
        while True:
            b = fh.read(1 << 22)
            if not b:
                break
            n += len(b)
    return f"{n / 1e6:.0f} MB"


def inflate_zlib(path: str) -> str:
    """Single-member or multi-member gzip through zlib, one thread (the gzip floor)."""
    n = 0
    d = zlib.decompressobj(31)
    with open(path, "rb") as fh:
        while True:
            b = fh.read(1 << 20)
            if not b:
                break
            while b:
                n += len(d.decompress(b))
                if d.eof:
                    b = d.unused_data
                    d = zlib.decompressobj(31)
                else:
                    b = b""
    return f"{n / 1e6:.0f} MB of text"


def parse_only(path: str, settings, barcodes: list[str]) -> str:
    from fragcov import _core

    # the reader with the groups' barcodes, as an export reads the file (counting what it stores)
    _, stats = _core.count_fragments(path, barcodes=barcodes, is_mito=settings.is_mito, **settings.reader_kwargs())
    return f"{stats['stored']:,} fragments"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fragments")
    ap.add_argument("--groups", required=True)
    ap.add_argument("--chrom-sizes", required=True)
    ap.add_argument("--sorted", action="store_true", help="the file is sorted by barcode (import with "
                                                          "sorted_by_barcode=True)")
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--scratch", default=tempfile.gettempdir(), help="folder for the uncompressed copy and outputs")
    a = ap.parse_args(argv)

    import fragcov
    from fragcov._fragment_file import read_groups_table, reader_settings

    fragcov.set_quiet()
    settings = reader_settings(a.chrom_sizes, n_jobs=a.n_jobs)
    barcodes = list(read_groups_table(a.groups).index)
    work = tempfile.mkdtemp(prefix="fragcov-profile-", dir=a.scratch)
    plain = os.path.join(work, "fragments.tsv")
    with gzip.open(a.fragments, "rb") if open(a.fragments, "rb").read(2) == b"\x1f\x8b" else \
            open(a.fragments, "rb") as src, open(plain, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 22)
    results = []
    try:
        print(f"{a.fragments}: {os.path.getsize(a.fragments) / 1e6:.0f} MB, n_jobs={a.n_jobs}")
        timed("read (page cache)", lambda: read_bytes(a.fragments), results)
        timed("inflate (zlib, 1 thread)", lambda: inflate_zlib(a.fragments), results)
        timed("parse (uncompressed copy)", lambda: parse_only(plain, settings, barcodes), results)
        timed("parse (file: inflate + parse)", lambda: parse_only(a.fragments, settings, barcodes), results)
        out = os.path.join(work, "tracks")

        def export():
            tracks = fragcov.export_coverage(a.fragments, a.groups, chrom_sizes=a.chrom_sizes, out_dir=out,
                                             n_jobs=a.n_jobs)
            return f"{len(tracks)} tracks"
        timed("export (file -> bigWig)", export, results)
        h5 = os.path.join(work, "import.h5ad")

        def run_import():
            adata = fragcov.import_fragments(a.fragments, a.chrom_sizes, file=h5, min_num_fragments=0,
                                             sorted_by_barcode=a.sorted, n_jobs=a.n_jobs, tempdir=work)
            adata.file.close()
            return f"{os.path.getsize(h5) / 1e6:.1f} MB .h5ad"

        timed(f"import (sorted_by_barcode={a.sorted})", run_import, results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n| stage | wall s | CPU s | |\n|---|---:|---:|---|")
    for label, wall, cpu, extra in results:
        print(f"| {label} | {wall:.2f} | {cpu:.2f} | {extra} |")
    print(f"\npeak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
