"""Atlas benchmark (issue #22): S samples x F fragments each, position-sorted BGZF files with Cell
Ranger headers and colliding barcodes (every sample draws from the same barcode pool) -> tracks for
G groups, from Python (export_coverage({sample: path}, table)).

    # generate (scale as arguments; the issue's full size is --samples 20 --fragments 10M)
    python benchmarks/atlas_bench.py generate --samples 20 --fragments 500k --out benchmarks/data/atlas20
    # one export in a fresh process: wall time, peak RSS (ru_maxrss), sha256 of the tracks
    python benchmarks/atlas_bench.py run benchmarks/data/atlas20 --n-jobs 2 [--merged]
    # the issue's comparisons: 2 vs 20 samples at equal total, n_jobs 1 vs 2, N files vs one merged file
    python benchmarks/atlas_bench.py suite --total 10M --out benchmarks/data/atlas

`--merged` exports the single file holding every sample's lines with barcodes written sample#barcode
(the reference the N-file tracks must equal byte for byte; the suite checks the hashes).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from generate_fragments import HG38  # noqa: E402  (chrom sizes of hg38, chr1-22, X, Y, M)

GROUPS = ["CD4 Naive", "CD14 Mono", "B", "NK", "CD8 Memory", "pDC", "cDC", "Treg", "MAIT", "Plasma", "HSPC",
          "Platelet"]


def size(text: str) -> int:
    text = text.lower()
    mult = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}.get(text[-1], 1)
    return int(float(text[:-1] if text[-1] in "kmg" else text) * mult)


def bgzf(data: bytes, level: int = 1) -> bytes:
    out = bytearray()
    for i in range(0, len(data), 65280):
        chunk = data[i:i + 65280]
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        comp = c.compress(chunk) + c.flush()
        out += struct.pack("<BBBBIBBHBBHH", 31, 139, 8, 4, 0, 0, 255, 6, 66, 67, 2, 18 + len(comp) + 7)
        out += comp + struct.pack("<II", zlib.crc32(chunk) & 0xFFFFFFFF, len(chunk))
    return bytes(out)


EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def header(sample: str) -> bytes:
    lines = ["# id=" + sample, "# description=synthetic atlas sample", "# pipeline_name=cellranger-arc",
             "# pipeline_version=2.0.2", "# reference_path=refdata-cellranger-arc-GRCh38-2020-A-2.0.0"]
    lines += [f"# primary_contig={c}" for c, _ in HG38]
    return ("\n".join(lines) + "\n").encode()


def generate(out: Path, n_samples: int, n_fragments: int, n_cells: int, seed: int = 1, distinct: int | None = None,
             merged_file: bool = True, reuse: bool = False) -> None:
    """Per sample: n_fragments lines sorted by (chrom, start, end, barcode); barcodes from one pool of
    n_cells (so they collide across samples); cells x groups table sample#barcode<TAB>group.
    `distinct`: only the first `distinct` samples are generated; sample k is then a symbolic link to
    sample k mod distinct (the same lines under another sample name: its cells are other cells of
    the atlas, sample#barcode, with groups of their own), which saves the generator's time and the
    disk. `merged_file`: also write merged.tsv.gz (every sample, barcodes sample#barcode). `reuse`: a
    sample file that exists is kept (an interrupted run goes on; the same seed draws the same lines)."""
    out.mkdir(parents=True, exist_ok=True)
    distinct = n_samples if distinct is None else min(distinct, n_samples)
    rng = np.random.default_rng(seed)
    pool = np.array(["".join(rng.choice(list("ACGT"), 16)) + "-1" for _ in range(n_cells)])
    names = [c for c, _ in HG38]
    lengths = np.array([n for _, n in HG38], dtype=np.int64)
    weights = lengths / lengths.sum()
    table = []
    merged = open(out / "merged.tsv.gz", "wb") if merged_file else None
    if merged:
        merged.write(bgzf(b"# merged: barcodes written sample#barcode\n"))
    for k in range(n_samples):
        sample = f"S{k + 1:02d}"
        r = np.random.default_rng(seed * 1000 + k % distinct)
        cells = np.sort(r.choice(n_cells, size=int(n_cells * 0.9), replace=False))  # 90% of the pool each
        if k >= distinct:  # the lines of sample k mod distinct under this name; groups of its own
            link = out / f"{sample}.tsv.gz"
            link.unlink(missing_ok=True)
            link.symlink_to(f"S{k % distinct + 1:02d}.tsv.gz")
            group_of = np.random.default_rng(seed * 1000 + k).integers(0, len(GROUPS), n_cells)
            table += [f"{sample}#{pool[c]}\t{GROUPS[group_of[c]]}" for c in cells]
            continue
        cell = cells[r.integers(0, len(cells), n_fragments)]
        chrom = r.choice(len(names), n_fragments, p=weights)
        start = (r.random(n_fragments) * (lengths[chrom] - 3000)).astype(np.int64)
        length = np.clip(r.lognormal(5.0, 0.7, n_fragments).astype(np.int64), 20, 2500)
        if reuse and (out / f"{sample}.tsv.gz").is_file() and not merged:
            r.geometric(0.7, n_fragments)  # the draws the file was written with, so that the groups are the same
            group_of = r.integers(0, len(GROUPS), n_cells)
            table += [f"{sample}#{pool[c]}\t{GROUPS[group_of[c]]}" for c in cells]
            continue
        order = np.lexsort((pool[cell], start + length, start, chrom))
        chrom, start, length, cell = chrom[order], start[order], length[order], cell[order]
        count = 1 + r.geometric(0.7, n_fragments) - 1
        chrom_txt = np.array(names, dtype=object)[chrom]
        bc = pool[cell]
        with open(out / f"{sample}.tsv.gz", "wb") as fh:
            fh.write(bgzf(header(sample)))
            for a in range(0, n_fragments, 500_000):
                sl = slice(a, a + 500_000)
                cols = list(zip(chrom_txt[sl], start[sl].tolist(), (start[sl] + length[sl]).tolist(), bc[sl],
                                count[sl].tolist()))
                fh.write(bgzf(("".join(f"{c}\t{s}\t{e}\t{b}\t{m}\n" for c, s, e, b, m in cols)).encode()))
                if merged:
                    merged.write(bgzf(("".join(f"{c}\t{s}\t{e}\t{sample}#{b}\t{m}\n" for c, s, e, b, m in cols))
                                      .encode()))
            fh.write(EOF_BLOCK)
        group_of = r.integers(0, len(GROUPS), n_cells)
        table += [f"{sample}#{pool[c]}\t{GROUPS[group_of[c]]}" for c in cells]
    if merged:
        merged.write(EOF_BLOCK)
        merged.close()
    (out / "groups.tsv").write_text("barcode\tcell_type\n" + "\n".join(table) + "\n")
    (out / "chrom.sizes").write_text("".join(f"{c}\t{n}\n" for c, n in HG38))
    (out / "meta.json").write_text(json.dumps(dict(samples=n_samples, fragments=n_fragments, cells=n_cells)))


def run(folder: Path, n_jobs: int, merged: bool, out_dir: Path | None = None, first: int | None = None,
        cores: int | None = None) -> dict:
    """One export in this process; prints a JSON line. `first`: only the first samples' files and
    cells (the same per-sample size, fewer samples: does memory grow with the number of samples?).
    `cores`: pin the process to its first `cores` processors (as a batch job's CPU allocation does),
    so that n_jobs 1 on one core can be set against n_jobs 2 on two."""
    if cores is not None:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cores])
    import fragcov

    fragcov.set_quiet(True)
    meta = json.loads((folder / "meta.json").read_text())
    n_samples = meta["samples"] if first is None else min(first, meta["samples"])
    if merged and n_samples != meta["samples"]:
        raise SystemExit("--merged holds every sample: no --first")
    samples = {f"S{k + 1:02d}": folder / f"S{k + 1:02d}.tsv.gz" for k in range(n_samples)}
    table = folder / "groups.tsv"
    if n_samples != meta["samples"]:
        lines = table.read_text().splitlines()
        table = folder / f"groups-first{n_samples}.tsv"
        table.write_text("\n".join([lines[0]] + [x for x in lines[1:] if x.split("#")[0] in samples]) + "\n")
    out_dir = out_dir or folder / ("out-merged" if merged else f"out-{n_jobs}-{n_samples}")
    t0 = time.perf_counter()
    res = fragcov.export_coverage(folder / "merged.tsv.gz" if merged else samples, table,
                                  out_dir=out_dir, chrom_sizes=folder / "chrom.sizes", n_jobs=n_jobs,
                                  bin_size=10)
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process, imports included
    digest = hashlib.sha256()
    for key in sorted(res):
        digest.update(Path(res[key]).read_bytes())
    total = n_samples * meta["fragments"]
    return dict(samples=n_samples, fragments=total, n_jobs=n_jobs, merged=merged, cores=len(os.sched_getaffinity(0)),
                wall_s=round(wall, 2), s_per_Mfrag=round(wall / (total / 1e6), 3),
                cpu_s=round(usage.ru_utime + usage.ru_stime, 1),
                peak_rss_MB=peak_rss_mb(), **io_mb(),
                sha256=digest.hexdigest()[:16], tracks=len(res))


def io_mb() -> dict:
    """Bytes this process read: from storage (read_bytes: what the page cache did not hold) and through
    read calls and mapped files' faults as counted by the kernel (rchar), /proc/self/io."""
    io = dict(line.split(": ") for line in open("/proc/self/io").read().splitlines())
    return dict(disk_read_MB=round(int(io["read_bytes"]) / 1e6, 1), rchar_MB=round(int(io["rchar"]) / 1e6, 1))


def peak_rss_mb() -> float:
    """VmHWM of this process (ru_maxrss would include the high-water mark inherited across exec)."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def in_subprocess(*args) -> dict:
    r = subprocess.run([sys.executable, __file__, "run", *map(str, args)], capture_output=True, text=True,
                       check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def suite(total: int, out: Path, cells: int, repeat: int = 3) -> None:
    rows = []
    for n_samples in (2, 20):
        folder = out / f"s{n_samples}"
        if not (folder / "meta.json").exists():
            generate(folder, n_samples, total // n_samples, cells)
        for n_jobs in (1, 2):
            for merged in ((), ("--merged",)):
                runs = [in_subprocess(folder, "--n-jobs", n_jobs, *merged) for _ in range(repeat)]
                best = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]  # the median run
                best["peak_rss_MB"] = max(r["peak_rss_MB"] for r in runs)
                assert len({r["sha256"] for r in runs}) == 1
                rows.append(best)
                print(json.dumps(rows[-1]), flush=True)
    (out / "suite.json").write_text(json.dumps(rows, indent=1))


def scale(folder: Path, repeat: int = 1) -> None:
    """N files at n_jobs 2, 1, and 1 pinned to one core; the merged single file at n_jobs 2 and 1; the
    first 2 samples at n_jobs 2 (same per-sample size: memory vs number of samples); median of `repeat`
    per row, the largest peak RSS. Rows go to folder/scale.json."""
    rows = []
    for args in (("--n-jobs", 2), ("--n-jobs", 1), ("--n-jobs", 1, "--cores", 1), ("--n-jobs", 2, "--merged"),
                 ("--n-jobs", 1, "--merged"), ("--n-jobs", 2, "--first", 2)):
        runs = [in_subprocess(folder, *args) for _ in range(repeat)]
        best = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]
        best["peak_rss_MB"] = max(r["peak_rss_MB"] for r in runs)
        rows.append(best)
        print(json.dumps(best), flush=True)
    (folder / "scale.json").write_text(json.dumps(rows, indent=1))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--samples", type=int, default=20)
    g.add_argument("--fragments", default="10M", help="per sample")
    g.add_argument("--cells", type=int, default=4000, help="barcode pool shared by the samples")
    g.add_argument("--out", type=Path, required=True)
    g.add_argument("--distinct", type=int, default=None,
                   help="generate only this many samples; the others are symbolic links to them (their cells "
                        "are other cells: sample#barcode)")
    g.add_argument("--no-merged", action="store_true", help="do not write merged.tsv.gz")
    g.add_argument("--reuse", action="store_true", help="keep sample files that exist (with --no-merged)")
    r = sub.add_parser("run")
    r.add_argument("folder", type=Path)
    r.add_argument("--n-jobs", type=int, default=2)
    r.add_argument("--merged", action="store_true")
    r.add_argument("--first", type=int, default=None, help="only the first FIRST samples (files and cells)")
    r.add_argument("--cores", type=int, default=None, help="pin the process to this many processors")
    c = sub.add_parser("scale", help="the issue's series on one generated folder, fresh process per row")
    c.add_argument("folder", type=Path)
    c.add_argument("--repeat", type=int, default=1)
    s = sub.add_parser("suite")
    s.add_argument("--total", default="10M")
    s.add_argument("--cells", type=int, default=4000)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    if a.cmd == "generate":
        generate(a.out, a.samples, size(a.fragments), a.cells, distinct=a.distinct, merged_file=not a.no_merged,
                 reuse=a.reuse)
    elif a.cmd == "run":
        print(json.dumps(run(a.folder, a.n_jobs, a.merged, first=a.first, cores=a.cores)))
    elif a.cmd == "scale":
        scale(a.folder, a.repeat)
    else:
        suite(size(a.total), a.out, a.cells, a.repeat)


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    main()
