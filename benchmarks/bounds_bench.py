"""Peak memory and threads of the hostile-input resource bounds (docs/spec.md 6.1, issue #27 class 4),
each case in a child process of the Python given (run it once per build to compare builds):

    python benchmarks/generate_fragments.py --n-fragments 2000000 --n-cells 8000 --n-groups 6 \
        --seed 5 --out-dir /tmp/bounds/many --formats barcode-gzip
    python benchmarks/bounds_bench.py PYTHON /tmp/bounds

- plot: fragcov.pl.tracks of a 60 kb window of a ~115 MB bedGraph, against the same figure of a
  one-line bedGraph (what the window costs over drawing);
- compare_groups(smooth_base=1000) of tests/data/pbmc_mini against the same smoothed export;
- the most threads seen during an export with n_jobs=1000 (sampled from /proc, Linux);
- a bigWig export of 8,000 one-cell groups (every barcode of the generated data its own group)
  against the bedGraph one, with a sha256 of each export's files (the same for builds that
  write the same bytes); and compare_groups of those groups on chr1's first 2 Mb, which writes
  its tracks 1,000 at a time (an eighth of the groups, spec 1.6.3).
"""
from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

MINI = Path(__file__).resolve().parent.parent / "tests" / "data" / "pbmc_mini"


def peak_rss_mb(python: str, code: str) -> float:
    """Peak RSS of `python -c code` (its exit status must be 0)."""
    p = subprocess.Popen([python, "-c", "import warnings; warnings.simplefilter('ignore')\n" + code],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(p.stderr.read().decode())
    return usage.ru_maxrss / 1024


def tree_sha256(folder: Path) -> str:
    """One sha256 over a folder's file names and bytes, in name order (to compare builds)."""
    h = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        h.update(name.encode() + b"\0")
        h.update((folder / name).read_bytes())
    return h.hexdigest()


def most_threads(python: str, code: str) -> int:
    p = subprocess.Popen([python, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    most = 0
    while p.poll() is None:
        try:
            most = max(most, len(os.listdir(f"/proc/{p.pid}/task")))
        except FileNotFoundError:
            break
    return most


def big_bedgraph(path: Path) -> None:
    rng = random.Random(1)
    with open(path, "w") as f:
        for chrom, size in (("chr1", 57_000_000), ("chr2", 114_000_000)):
            s, lines = 0, []
            while f.tell() < size:
                e = s + rng.randint(10, 60)
                lines.append(f"{chrom}\t{s}\t{e}\t{rng.random() * 10:.4f}\n")
                s = e
                if len(lines) > 100_000:
                    f.write("".join(lines))
                    lines = []
            f.write("".join(lines))


def main(python: str, work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    big, small = work / "big.bedgraph", work / "small.bedgraph"
    if not big.exists():
        big_bedgraph(big)
    small.write_text("chr1\t1000000\t1000100\t1\n")
    for name, path in (("one-line bedGraph", small), (f"{big.stat().st_size / 1e6:.0f} MB bedGraph", big)):
        mb = peak_rss_mb(python, f"import fragcov; fragcov.pl.tracks({{'a': {str(path)!r}}}, "
                                 f"'chr1:1,000,000-1,060,000', output={str(work / 'plot.png')!r})")
        print(f"plot 60 kb window of a {name}: {mb:.0f} MB")
    mini = {"chrom_sizes": str(MINI / "chrom.sizes"), "smooth_base": 1000}
    for call in ("export_coverage", "compare_groups"):
        out = work / call
        shutil.rmtree(out, ignore_errors=True)
        mb = peak_rss_mb(python, f"import fragcov; fragcov.{call}({str(MINI / 'fragments.tsv.gz')!r}, "
                                 f"{str(MINI / 'groups.tsv')!r}, out_dir={str(out)!r}, **{mini!r})")
        print(f"pbmc_mini smooth_base=1000 {call}: {mb:.0f} MB")
        shutil.rmtree(out)
    out = work / "threads"
    shutil.rmtree(out, ignore_errors=True)
    threads = most_threads(python, f"import warnings, fragcov; warnings.simplefilter('ignore'); "
                                   f"fragcov.export_coverage({str(MINI / 'fragments.tsv.gz')!r}, "
                                   f"{str(MINI / 'groups.tsv')!r}, out_dir={str(out)!r}, n_jobs=1000, **{mini!r})")
    print(f"n_jobs=1000 on {os.cpu_count()} processors: at most {threads} threads")
    shutil.rmtree(out, ignore_errors=True)
    many = work / "many"
    if (many / "fragments.tsv.gz").exists():
        table = many / "one_cell_groups.tsv"
        with open(many / "groups.tsv") as src, open(table, "w") as dst:
            for line in src:
                barcode = line.split("\t", 1)[0].strip()
                dst.write(f"{barcode}\t{barcode}\n")
        frags, sizes = str(many / "fragments.tsv.gz"), str(many / "chrom.sizes")
        # compare_groups writes 1,000 of these tracks at a time
        for function, extra, label in (("export_coverage", "", ""),
                                       ("compare_groups", ", regions=['chr1:1-2,000,000']",
                                        " compare_groups (chr1:1-2,000,000)")):
            for suffix in (".bw", ".bedgraph"):
                out = work / "many_out"
                shutil.rmtree(out, ignore_errors=True)
                mb = peak_rss_mb(python, f"import fragcov; fragcov.{function}({frags!r}, {str(table)!r}, "
                                         f"chrom_sizes={sizes!r}, out_dir={str(out)!r}, suffix={suffix!r}{extra})")
                print(f"8,000 one-cell groups{label} {suffix}: {mb:.0f} MB ({len(os.listdir(out))} files, "
                      f"sha256 {tree_sha256(out)[:16]})")
                shutil.rmtree(out)

if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
