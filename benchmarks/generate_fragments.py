#!/usr/bin/env python3
"""Generate a realistic synthetic 10x scATAC fragment file over the whole hg38 genome.

The data resembles what a real single-cell ATAC experiment produces (and what the
`pbmc_mini` fixture looks like):

* N cells in G groups ("cell types"), unequal group sizes, log-normal number of
  fragments per cell;
* shared peaks (open in all groups) plus group-specific peaks, with heavy-tailed
  peak strengths, on top of a uniform genomic background and a little chrM;
* nucleosomal fragment-length mixture (nucleosome-free ~60 bp, mono ~200 bp,
  di ~390 bp, tri ~560 bp) plus a long tail: ~3% of fragments > 600 bp and
  ~1% > 2 kb (so the default max_frag_length=2000 filter matters);
* column 5 = duplicate count (geometric, P(1)=0.7, P(2)=0.21, ...);
* no duplicate lines within a cell.

Outputs in --out-dir (--formats, comma separated; the same fragments in each):

* `barcode-gzip` -> `fragments.tsv.gz`: single-member gzip, rows sorted by
  barcode, then genome position (chr1..chr22, chrX, chrY, chrM), then end, no
  header (the order of SnapATAC2's make_fragment_file);
* `position-bgzf` -> `fragments.position.tsv.gz`: BGZF (bgzip's blocked gzip),
  a `#` header as Cell Ranger ATAC writes it, rows sorted by chromosome,
  start, end, barcode: what 10x delivers. The rows go through per-chromosome
  bucket files in --out-dir, so memory stays flat.

plus `groups.tsv` (barcode<TAB>group, no header, one line per cell in barcode
order) and `chrom.sizes` (hg38 main chromosomes); with --peaks-bed, the peak
summits as a BED6 (one base each; the shared peaks, then each group's; strands
alternate + and -, names `shared_<i>` / `<group>_<i>`): anchors for
`fragcov.profile` benchmarks. Writing it draws no random numbers, so the
fragments are the same with or without it.

Speed: everything is vectorised numpy; text is formatted by building fixed-width
byte matrices and squeezing out the padding, and gzip (level 1 by default) runs
in a background thread (zlib releases the GIL). 45M fragments take ~1-2 min on
one core.

Example:
    python benchmarks/generate_fragments.py --n-fragments 10000000 --n-cells 2000 \
        --n-groups 8 --seed 1 --out-dir /tmp/frag10M --formats barcode-gzip,position-bgzf
"""
from __future__ import annotations

import argparse
import os
import queue
import struct
import sys
import threading
import time
import zlib

import numpy as np

# hg38 main chromosomes (UCSC hg38.chrom.sizes), in genome order.
HG38 = [
    ("chr1", 248956422), ("chr2", 242193529), ("chr3", 198295559),
    ("chr4", 190214555), ("chr5", 181538259), ("chr6", 170805979),
    ("chr7", 159345973), ("chr8", 145138636), ("chr9", 138394717),
    ("chr10", 133797422), ("chr11", 135086622), ("chr12", 133275309),
    ("chr13", 114364328), ("chr14", 107043718), ("chr15", 101991189),
    ("chr16", 90338345), ("chr17", 83257441), ("chr18", 80373285),
    ("chr19", 58617616), ("chr20", 64444167), ("chr21", 46709983),
    ("chr22", 50818468), ("chrX", 156040895), ("chrY", 57227415),
    ("chrM", 16569),
]

CELL_TYPES = ["CD14 Mono", "CD4 Naive", "CD8 Naive", "NK", "B naive", "CD4 TCM",
              "CD16 Mono", "CD8 TEM", "cDC2", "pDC", "MAIT", "Treg"]

LEN_BITS = 13          # fragment lengths < 8192
MAX_LEN = (1 << LEN_BITS) - 1


def group_names(n_groups: int) -> list[str]:
    names = CELL_TYPES[:n_groups]
    names += [f"cluster_{i}" for i in range(len(names), n_groups)]
    return names


def make_barcodes(rng: np.random.Generator, n: int) -> np.ndarray:
    """n unique random 16-mers + '-1', sorted; returns (n, 18) uint8 ASCII matrix."""
    codes = np.empty(0, dtype=np.uint64)
    while codes.size < n:
        extra = rng.integers(0, 4 ** 16, size=int((n - codes.size) * 1.1) + 16, dtype=np.uint64)
        codes = np.unique(np.concatenate([codes, extra]))
    codes = np.sort(rng.choice(codes, size=n, replace=False))  # sorted == lexicographic
    lut = np.frombuffer(b"ACGT", dtype=np.uint8)
    shifts = np.arange(30, -1, -2, dtype=np.uint64)
    digits = ((codes[:, None] >> shifts[None, :]) & np.uint64(3)).astype(np.intp)
    out = np.empty((n, 18), dtype=np.uint8)
    out[:, :16] = lut[digits]
    out[:, 16] = ord("-")
    out[:, 17] = ord("1")
    return out


def int_digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) uint8 matrix of right-aligned ASCII digits, leading zeros -> 0 (pad)."""
    v = values.astype(np.int64, copy=True)
    out = np.zeros((v.size, width), dtype=np.uint8)
    for col in range(width - 1, -1, -1):
        d = (v % 10).astype(np.uint8)
        out[:, col] = d + 48
        v //= 10
    # blank leading zeros, keep at least the last digit
    lead = np.ones(v.size, dtype=bool)
    for col in range(width - 1):
        lead &= out[:, col] == 48
        out[lead, col] = 0
    return out


def format_rows(chrom_mat, chrom_id, start, end, bc_mat, cell, count) -> bytes:
    """Tab-separated 10x fragment lines as one bytes object."""
    n = start.size
    parts = [chrom_mat[chrom_id], None, int_digits(start, 9), None, int_digits(end, 9),
             None, bc_mat[cell], None, int_digits(count, 3), None]
    tab = np.full((n, 1), 9, dtype=np.uint8)
    nl = np.full((n, 1), 10, dtype=np.uint8)
    for i in (1, 3, 5, 7):
        parts[i] = tab
    parts[9] = nl
    mat = np.concatenate(parts, axis=1)
    return mat[mat != 0].tobytes()


class GzipWriter:
    """Single-member gzip stream; compression runs in a background thread."""

    def __init__(self, path: str, level: int):
        self.f = open(path, "wb")
        self.comp = zlib.compressobj(level, zlib.DEFLATED, 31)
        self.q: queue.Queue = queue.Queue(maxsize=3)
        self.err = None
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        try:
            while True:
                buf = self.q.get()
                if buf is None:
                    break
                self.f.write(self.comp.compress(buf))
            self.f.write(self.comp.flush())
            self.f.close()
        except BaseException as e:  # pragma: no cover
            self.err = e

    def write(self, buf: bytes):
        if self.err:
            raise self.err
        self.q.put(buf)

    def close(self):
        self.q.put(None)
        self.t.join()
        if self.err:
            raise self.err


class BgzfWriter(GzipWriter):
    """BGZF as bgzip writes it (SAM/BAM specification 4.1): independent gzip
    members of <= 65280 input bytes with a "BC" extra field giving the block
    size, then the 28-byte end-of-file block. Compression runs in a background thread."""

    BLOCK = 65280
    EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")

    def __init__(self, path: str, level: int):
        self.level = level
        self.pending = bytearray()
        super().__init__(path, level)

    def _block(self, data: bytes) -> bytes:
        c = zlib.compressobj(self.level, zlib.DEFLATED, -15)
        comp = c.compress(data) + c.flush()
        head = struct.pack("<BBBBIBBHBBHH", 31, 139, 8, 4, 0, 0, 255, 6, 66, 67, 2, 18 + len(comp) + 8 - 1)
        return head + comp + struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data))

    def _run(self):
        try:
            while True:
                buf = self.q.get()
                if buf is None:
                    break
                self.pending += buf
                n_full = len(self.pending) // self.BLOCK * self.BLOCK
                out = [self._block(bytes(self.pending[i:i + self.BLOCK])) for i in range(0, n_full, self.BLOCK)]
                del self.pending[:n_full]
                self.f.write(b"".join(out))
            if self.pending:
                self.f.write(self._block(bytes(self.pending)))
            self.f.write(self.EOF)
            self.f.close()
        except BaseException as e:  # pragma: no cover
            self.err = e


def tenx_header(seed: int) -> bytes:
    """The comment header Cell Ranger ATAC puts at the top of fragments.tsv.gz."""
    lines = ["# id=synthetic_hg38", f"# description=fragcov benchmark data (generate_fragments.py --seed {seed})",
             "#", "# pipeline_name=cellranger-atac", "# pipeline_version=cellranger-atac-2.1.0", "#",
             "# reference_path=/refdata/refdata-cellranger-arc-GRCh38-2020-A-2.0.0",
             "# reference_fasta_hash=b6f131840a8b6e8c6b5e5e29a4a8a1a8c5c2f9a4",
             "# reference_gtf_hash=3b4c36ca3bade222a5b53394e8c07a18db7ebb11",
             "# reference_version=2020-A", "# mkref_version=cellranger-arc-2.0.0", "#"]
    lines += [f"# primary_contig={name}" for name, _ in HG38 if name != "chrM"]
    lines += ["# non_nuclear_contig=chrM", "#"]
    return ("\n".join(lines) + "\n").encode()


BUCKET = np.dtype([("start", "<i8"), ("len", "<u2"), ("cell", "<u4"), ("dup", "<u2")])


def sample_lengths(rng, n):
    comp = rng.choice(5, size=n, p=[0.52, 0.30, 0.125, 0.03, 0.025])
    L = np.empty(n, dtype=np.float64)
    m = comp == 0
    L[m] = rng.lognormal(np.log(62.0), 0.42, m.sum())
    m = comp == 1
    L[m] = rng.normal(200.0, 25.0, m.sum())
    m = comp == 2
    L[m] = rng.normal(390.0, 35.0, m.sum())
    m = comp == 3
    L[m] = rng.normal(560.0, 40.0, m.sum())
    m = comp == 4
    L[m] = np.exp(rng.uniform(np.log(600.0), np.log(5000.0), m.sum()))
    return np.clip(np.rint(L), 10, 5000).astype(np.int64)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-fragments", type=int, default=1_000_000,
                    help="number of unique fragment lines (approx., exact before de-duplication)")
    ap.add_argument("--n-cells", type=int, default=None, help="default: n_fragments/5000, at least 20")
    ap.add_argument("--n-groups", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--n-shared-peaks", type=int, default=40000)
    ap.add_argument("--n-group-peaks", type=int, default=8000, help="group-specific peaks per group")
    ap.add_argument("--frip", type=float, default=0.45, help="fraction of fragments in peaks")
    ap.add_argument("--frac-mito", type=float, default=0.01)
    ap.add_argument("--compresslevel", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=2_000_000, help="fragments per processing chunk")
    ap.add_argument("--formats", default="barcode-gzip",
                    help="comma list of barcode-gzip (fragments.tsv.gz), position-bgzf (fragments.position.tsv.gz)")
    ap.add_argument("--peaks-bed", help="also write the peak summits to this BED file (profile anchors)")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    formats = [f.strip() for f in a.formats.split(",") if f.strip()]
    if not formats or not set(formats) <= {"barcode-gzip", "position-bgzf"}:
        ap.error("--formats takes barcode-gzip and/or position-bgzf")

    t0 = time.time()
    rng = np.random.default_rng(a.seed)
    N = int(a.n_fragments)
    C = a.n_cells if a.n_cells else max(20, N // 5000)
    G = a.n_groups
    if C < G:
        sys.exit("--n-cells must be >= --n-groups")
    os.makedirs(a.out_dir, exist_ok=True)

    names = [c for c, _ in HG38]
    sizes = np.array([s for _, s in HG38], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    mito = names.index("chrM")
    nuclear_len = int(offsets[mito])  # chrM is last
    genome_len = int(offsets[-1])
    chrom_mat = np.zeros((len(names), 5), dtype=np.uint8)
    for i, nm in enumerate(names):
        chrom_mat[i, :len(nm)] = np.frombuffer(nm.encode(), dtype=np.uint8)

    with open(os.path.join(a.out_dir, "chrom.sizes"), "w") as f:
        for nm, s in HG38:
            f.write(f"{nm}\t{s}\n")

    # cells, groups, depth
    bc = make_barcodes(rng, C)
    gnames = group_names(G)
    gprob = rng.dirichlet(np.full(G, 4.0))
    cell_group = rng.choice(G, size=C, p=gprob)
    cell_group[:G] = rng.permutation(G)      # every group has >= 1 cell
    depth_w = rng.lognormal(0.0, 0.5, C)
    n_per_cell = rng.multinomial(N, depth_w / depth_w.sum())
    with open(os.path.join(a.out_dir, "groups.tsv"), "w") as f:
        for i in range(C):
            f.write(f"{bc[i].tobytes().decode()}\t{gnames[cell_group[i]]}\n")

    # peaks: genome positions of centres (nuclear genome), heavy-tailed strengths
    def peaks(n):
        centres = np.sort(rng.integers(0, nuclear_len, n))
        w = rng.lognormal(0.0, 1.0, n)
        return centres, np.cumsum(w) / w.sum()

    shared_c, shared_cdf = peaks(a.n_shared_peaks)
    grp = [peaks(a.n_group_peaks) for _ in range(G)]
    if a.peaks_bed:
        write_peaks_bed(a.peaks_bed, names, offsets, [("shared", shared_c)] +
                        [(gnames[g], grp[g][0]) for g in range(G)])

    writer = GzipWriter(os.path.join(a.out_dir, "fragments.tsv.gz"), a.compresslevel) \
        if "barcode-gzip" in formats else None
    buckets = None
    if "position-bgzf" in formats:  # per-chromosome files of (start, length, cell, count), sorted at the end
        buckets = [open(os.path.join(a.out_dir, f".bucket-{name}.bin"), "wb") for name in names]
    total_written = 0
    lengths_over600 = 0
    lengths_over2k = 0
    cell_start = 0
    while cell_start < C:
        # take cells until ~chunk fragments (at least one cell)
        cum = np.cumsum(n_per_cell[cell_start:])
        cell_end = cell_start + max(1, int(np.searchsorted(cum, a.chunk, side="right")))
        cells = np.arange(cell_start, cell_end)
        counts = n_per_cell[cell_start:cell_end]
        M = int(counts.sum())
        if M == 0:
            cell_start = cell_end
            continue
        cell = np.repeat(cells, counts)
        g_of = cell_group[cell]
        L = sample_lengths(rng, M)
        kind = rng.choice(4, size=M, p=[1 - a.frip - a.frac_mito, a.frip * 0.5, a.frip * 0.5, a.frac_mito])
        centre = np.empty(M, dtype=np.int64)
        m = kind == 0
        centre[m] = rng.integers(0, nuclear_len, m.sum())
        m = kind == 1
        centre[m] = shared_c[np.searchsorted(shared_cdf, rng.random(m.sum()))]
        for g in range(G):
            m = (kind == 2) & (g_of == g)
            if m.any():
                c_, cdf_ = grp[g]
                centre[m] = c_[np.searchsorted(cdf_, rng.random(m.sum()))]
        m = kind == 3
        centre[m] = offsets[mito] + rng.integers(0, int(sizes[mito]), m.sum())
        # peak fragments scatter around the summit
        pk = (kind == 1) | (kind == 2)
        centre[pk] += np.rint(rng.normal(0.0, 110.0, pk.sum())).astype(np.int64)
        centre = np.clip(centre, 0, genome_len - 1)
        start = centre - L // 2
        chrom = np.searchsorted(offsets, centre, side="right") - 1
        cs, ce = offsets[chrom], offsets[chrom + 1]
        L = np.minimum(L, ce - cs)
        start = np.clip(start, cs, ce - L)
        # sort by (cell, genome start, length) and drop duplicate lines
        local = (cell - cell_start).astype(np.int64)
        key = (local * genome_len + start) << LEN_BITS | L
        key.sort()
        keep = np.ones(key.size, dtype=bool)
        keep[1:] = key[1:] != key[:-1]
        key = key[keep]
        L = key & MAX_LEN
        rest = key >> LEN_BITS
        local = rest // genome_len
        gstart = rest - local * genome_len
        chrom = np.searchsorted(offsets, gstart, side="right") - 1
        start = gstart - offsets[chrom]
        dup = np.minimum(rng.geometric(0.7, key.size), 999)
        if writer is not None:
            writer.write(format_rows(chrom_mat, chrom, start, start + L, bc, local + cell_start, dup))
        if buckets is not None:
            rec = np.empty(key.size, dtype=BUCKET)
            rec["start"], rec["len"], rec["cell"], rec["dup"] = start, L, local + cell_start, dup
            for c in np.unique(chrom):
                buckets[c].write(rec[chrom == c].tobytes())
        total_written += key.size
        lengths_over600 += int((L > 600).sum())
        lengths_over2k += int((L > 2000).sum())
        cell_start = cell_end
        if not a.quiet:
            print(f"\r{total_written:,} fragments, {cell_end}/{C} cells, {time.time() - t0:.0f}s", end="",
                  file=sys.stderr)
    if writer is not None:
        writer.close()
    if buckets is not None:
        write_position_sorted(a, names, chrom_mat, bc, buckets)
    if not a.quiet:
        print(file=sys.stderr)
    gsize = np.bincount(cell_group, minlength=G)
    print(f"wrote {total_written:,} fragments, {C} cells, {G} groups "
          f"(sizes {', '.join(f'{n}={s}' for n, s in zip(gnames, gsize))}); "
          f">600bp {lengths_over600 / max(1, total_written):.2%}, >2kb {lengths_over2k / max(1, total_written):.2%}; "
          f"{time.time() - t0:.1f}s -> {a.out_dir}")


def write_peaks_bed(path, names, offsets, sets) -> None:
    """Peak summits (genome positions) as BED6 lines, set after set: the anchors of the profile benchmark."""
    with open(path, "w") as f:
        for label, centres in sets:
            chrom = np.searchsorted(offsets, centres, side="right") - 1
            local = centres - offsets[chrom]
            f.write("".join(f"{names[c]}\t{p}\t{p + 1}\t{label.replace(' ', '_')}_{i}\t0\t{'+-'[i % 2]}\n"
                            for i, (c, p) in enumerate(zip(chrom.tolist(), local.tolist()))))


def write_position_sorted(a, names, chrom_mat, bc, buckets) -> None:
    """fragments.position.tsv.gz from the bucket files: chromosome by chromosome, sorted
    by (start, end, barcode); barcodes sort as cell numbers (make_barcodes sorts them)."""
    out = BgzfWriter(os.path.join(a.out_dir, "fragments.position.tsv.gz"), a.compresslevel)
    out.write(tenx_header(a.seed))
    for c, fh in enumerate(buckets):
        fh.close()
        rec = np.fromfile(fh.name, dtype=BUCKET)
        os.remove(fh.name)
        rec = rec[np.lexsort((rec["cell"], rec["len"], rec["start"]))]
        for i in range(0, len(rec), a.chunk):
            r = rec[i:i + a.chunk]
            start = r["start"].astype(np.int64)
            out.write(format_rows(chrom_mat, np.full(len(r), c), start, start + r["len"], bc,
                                  r["cell"].astype(np.int64), r["dup"].astype(np.int64)))
    out.close()


if __name__ == "__main__":
    main()
