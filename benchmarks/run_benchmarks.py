#!/usr/bin/env python3
"""Benchmark fragcov.export_coverage against snapatac2.ex.export_coverage.

For every dataset size, a synthetic whole-hg38 fragment file is generated with
`generate_fragments.py` and imported ONCE with `snapatac2.pp.import_fragments`
(cached: skipped when the .h5ad exists), and the group column (obs "group") is
added to that file. Each (case, tool) is then run in a fresh Python subprocess
on the same .h5ad, so that per-run peak RSS (os.wait4 rusage of that child),
wall time and CPU time are measured independently.

Measured per run:
  wall s      wall time of opening the file + export_coverage (module import excluded)
  CPU s       user+sys CPU of the worker process over the same span (all threads)
  peak RSS    peak resident set size of the whole worker process (wait4 ru_maxrss)
  base RSS    RSS after `import snapatac2`/`import fragcov` and before opening
              (the interpreter + library baseline included in peak RSS)

Inputs: snapatac2 gets `snap.read(path, backed="r")`; fragcov gets the path
(default, --fragcov-input path) or `anndata.read_h5ad(path, backed="r")`
(--fragcov-input backed; note anndata then loads obsm["fragment_paired"] into
memory, so the peak RSS is dominated by anndata, not by fragcov).

Cases (--cases, comma separated; default: all but smoke):
  default_bw    RPKM, bin 10, bigWig (the API defaults)
  bedgraph_zst  defaults, suffix .bedgraph.zst
  insertion     counting_strategy="insertion", bigWig
  smooth        bin_size=20, smooth_base=51, bigWig, on the --smooth-fragments dataset
  scale         default_bw on --scale multiples of --fragments
  threads       default_bw with n_jobs 1 and 2
  compare       bedGraph insertion CPM (.bedgraph.zst) with both tools; outputs must
                agree (docs/spec.md section 3.9: the CPM denominator is the same in insertion mode)
  file_tracks   fragment file -> bigWig tracks, default options, from the position-sorted
                BGZF file with its 10x header: fragcov reads the file once
                (export_coverage(path, groups.tsv, chrom_sizes=...)); SnapATAC2 imports it
                (sorted_by_barcode=False) and exports; fragcov-main runs the baseline's CLI
  import_position  import_fragments(file=...) of the position-sorted BGZF file
                (sorted_by_barcode=False); output MB = the .h5ad
  import_barcode   the same on the barcode-sorted gzip file (sorted_by_barcode=True)

Tools (--tools): snapatac2, fragcov (this checkout) and fragcov-main, a baseline
fragcov installed for the interpreter given by --baseline-python (file cases only),
e.g. `python -m venv --system-site-packages /tmp/base && /tmp/base/bin/pip install
<main checkout>`.

Results are appended to <work-dir>/results.jsonl; SnapATAC2 results are reused
from there (it does not change) unless --rerun-snapatac2; fragcov is always re-run
unless --reuse-fragcov. The markdown table is printed and written to
<work-dir>/results.md (and --markdown PATH if given).

Examples:
  python benchmarks/run_benchmarks.py --smoke                    # CI, seconds
  python benchmarks/run_benchmarks.py --fragments 10M --tools snapatac2
  python benchmarks/run_benchmarks.py --fragments 10M --cases scale --scale 1,2,4
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# fragcov's own options (SnapATAC2 has none of them): the default bigWig export plus one option,
# compared with fragcov's default_bw (docs/spec.md sections 3.5.5, 3.6, 4.9)
OPTION_CASES = {"ceiling": {"ceiling": 4},
                "region_1mb": {"regions": "chr1:50,000,000-51,000,000"},
                "rpgc_scaled": {"normalization": "RPGC", "effective_genome_size": 2_913_022_398, "scale_factor": 2.0},
                "norm_by": {"normalization": None, "norm_by": "n_fragment"}}
ALL_CASES = ["default_bw", "bedgraph_zst", "insertion", "smooth", "scale", "threads", "compare",
             "file_tracks", "import_position", "import_barcode", *OPTION_CASES]
TOOLS = ["snapatac2", "fragcov", "fragcov-main"]
# cases that start from the fragment file: (worker mode, input file, sorted_by_barcode)
FILE_CASES = {"file_tracks": ("file_tracks", "position", False),
              "import_position": ("import", "position", False),
              "import_barcode": ("import", "barcode", True)}


# --------------------------------------------------------------------------- utils
def parse_count(s: str) -> int:
    s = str(s).strip().lower().replace("_", "")
    mult = 1
    if s[-1:] in ("k", "m", "g"):
        mult = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}[s[-1]]
        s = s[:-1]
    return int(float(s) * mult)


def label(n: int) -> str:
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    if n >= 1_000 and n % 100 == 0:
        return f"{n / 1_000:g}k"
    return str(n)


def log(msg: str):
    print(f"[{datetime.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def importable(mod: str, python: str = sys.executable) -> tuple[bool, str]:
    """Check in a subprocess (outside the repo, so a source checkout does not shadow
    the installed package) whether `mod` imports; return (ok, version-or-error)."""
    code = (f"import {mod}, sys; "
            f"sys.stdout.write(str(getattr({mod}, '__version__', '?')))")
    try:
        p = subprocess.run([python, "-c", code], capture_output=True, text=True,
                           cwd=tempfile.gettempdir(), timeout=120)
    except subprocess.TimeoutExpired:
        return False, "import timed out"
    if p.returncode == 0:
        return True, p.stdout.strip()
    return False, (p.stderr.strip().splitlines() or ["?"])[-1]


# ------------------------------------------------------------------------ datasets
class Dataset:
    def __init__(self, work: str, n_frag: int, n_cells: int, n_groups: int, seed: int):
        self.n_frag, self.n_cells, self.n_groups, self.seed = n_frag, n_cells, n_groups, seed
        self.name = f"frag{label(n_frag)}_c{n_cells}_g{n_groups}_s{seed}"
        self.dir = os.path.join(work, "data", self.name)
        self.h5ad = os.path.join(self.dir, "data.h5ad")

    def file(self, kind: str) -> str:
        """The fragment file: barcode-sorted gzip or position-sorted BGZF."""
        return os.path.join(self.dir, "fragments.tsv.gz" if kind == "barcode" else "fragments.position.tsv.gz")

    def ensure(self, use_fragcov_import: bool = False, need_h5ad: bool = True, need_position: bool = False):
        frag = self.file("barcode")
        if not os.path.exists(os.path.join(self.dir, "groups.tsv")) or not os.path.exists(frag) or \
                (need_position and not os.path.exists(self.file("position"))):
            log(f"generating {self.name}")
            subprocess.run([sys.executable, os.path.join(HERE, "generate_fragments.py"),
                            "--n-fragments", str(self.n_frag), "--n-cells", str(self.n_cells),
                            "--n-groups", str(self.n_groups), "--seed", str(self.seed),
                            "--formats", "barcode-gzip,position-bgzf" if need_position else "barcode-gzip",
                            "--out-dir", self.dir, "--quiet"], check=True, stdout=sys.stderr)
        if os.path.exists(self.h5ad) or not need_h5ad:
            return
        log(f"importing {self.name} -> {self.h5ad}")
        tmp = self.h5ad + ".tmp.h5ad"
        mod = "fragcov" if use_fragcov_import else "snapatac2"
        code = f"""
import sys, time, pandas as pd
import {mod} as snap
d = sys.argv[1]
sizes = pd.read_csv(d + '/chrom.sizes', sep='\\t', header=None)
chrom_sizes = {{str(k): int(v) for k, v in sizes.values}}
t = time.time()
a = snap.pp.import_fragments(d + '/fragments.tsv.gz', chrom_sizes, file=sys.argv[2],
                             sorted_by_barcode=True, min_num_fragments=0, n_jobs=2)
groups = pd.read_csv(d + '/groups.tsv', sep='\\t', header=None, index_col=0,
                     dtype=str, keep_default_na=False)[1]
names = list(a.obs_names)
missing = [b for b in names if b not in groups.index]
if missing:
    raise SystemExit(f'{{len(missing)}} barcodes not in groups.tsv, e.g. {{missing[:3]}}')
labels = [groups[b] for b in names]
n = a.n_obs
if '{mod}' == 'snapatac2':
    a.obs['group'] = labels          # written through to the file
    a.close()
else:
    # anndata-backed object: write obs/group into the file with anndata's encoder
    import h5py, hdf5plugin, anndata
    if getattr(a, 'file', None) is not None:
        a.file.close()
    with h5py.File(sys.argv[2], 'r+') as f:
        obs = anndata.io.read_elem(f['obs'])
        obs['group'] = pd.Categorical(labels)
        del f['obs']
        anndata.io.write_elem(f, 'obs', obs)
print(f'imported {{n}} cells in {{time.time() - t:.1f}}s', file=sys.stderr)
"""
        if os.path.exists(tmp):
            os.remove(tmp)
        subprocess.run([sys.executable, "-c", code, self.dir, tmp], check=True,
                       cwd=tempfile.gettempdir())
        os.replace(tmp, self.h5ad)


# -------------------------------------------------------------------------- worker
WORKER_CODE = r"""
import json, os, resource, sys, time
spec = json.loads(sys.argv[1])
mode, tool = spec.get('mode', 'export'), spec['tool']

def rss_kb():
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024 if sys.platform == 'darwin' else r

if tool == 'snapatac2':
    import snapatac2 as snap
else:
    import hdf5plugin  # noqa: F401  (Blosc/zstd filters of SnapATAC2 files)
    import fragcov
import pandas as pd

def chrom_sizes():
    return {str(k): int(v) for k, v in pd.read_csv(spec['chrom_sizes'], sep='\t', header=None).values}

def import_file(lib):
    h5 = os.path.join(spec['out_dir'], 'import.h5ad')
    os.makedirs(spec['out_dir'], exist_ok=True)
    a = lib.pp.import_fragments(spec['fragments'], chrom_sizes(), file=h5, sorted_by_barcode=spec['sorted'],
                                min_num_fragments=0, n_jobs=spec['n_jobs'])
    return a, h5

def run():
    if mode == 'export':  # an .h5ad -> tracks
        if tool == 'snapatac2':
            adata = snap.read(spec['h5ad'], backed='r')
            return snap.ex.export_coverage(adata, groupby='group', out_dir=spec['out_dir'], n_jobs=spec['n_jobs'],
                                           **spec['params'])
        adata = spec['h5ad']
        if spec['fragcov_input'] == 'backed':
            import anndata
            adata = anndata.read_h5ad(adata, backed='r')
        return fragcov.export_coverage(adata, groupby='group', out_dir=spec['out_dir'], n_jobs=spec['n_jobs'],
                                       **spec['params'])
    if mode == 'import':  # fragment file -> .h5ad
        a, h5 = import_file(snap if tool == 'snapatac2' else fragcov)
        a.close() if tool == 'snapatac2' else a.file.close()
        return {'h5ad': h5}
    # mode == 'file_tracks': fragment file -> tracks
    groups = spec['groups']
    if tool == 'snapatac2':  # import, then export
        adata, h5 = import_file(snap)
        table = pd.read_csv(groups, sep='\t', header=None, index_col=0, dtype=str)[1]
        adata.obs['group'] = [str(x) for x in table.reindex(list(adata.obs_names))]
        out = snap.ex.export_coverage(adata, groupby='group', out_dir=spec['out_dir'], n_jobs=spec['n_jobs'],
                                      **spec['params'])
        adata.close()
        os.remove(h5)
        return out
    if tool == 'fragcov-main':  # the fragment-file CLI of the baseline checkout
        from fragcov._cli import main as cli
        rc = cli(['-q', 'export-coverage', spec['fragments'], '--groups', groups, '--chrom-sizes',
                  spec['chrom_sizes'], '--out-dir', spec['out_dir'], '--n-jobs', str(spec['n_jobs']),
                  '--min-num-fragments', '0', '--suffix', spec['params'].get('suffix', '.bw')])
        assert rc == 0, rc
        suffix = spec['params'].get('suffix', '.bw')  # keyed by group, like the API's result (same digest)
        return {f[:-len(suffix)]: os.path.join(spec['out_dir'], f) for f in os.listdir(spec['out_dir'])}
    return fragcov.export_coverage(spec['fragments'], groups, chrom_sizes=spec['chrom_sizes'],
                                   out_dir=spec['out_dir'], n_jobs=spec['n_jobs'], **spec['params'])

base_rss = rss_kb()
r0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.perf_counter()
out = run()
t1 = time.perf_counter()
r1 = resource.getrusage(resource.RUSAGE_SELF)
files = list(out.values()) if isinstance(out, dict) else []
import hashlib
h = hashlib.sha256()
for name, fpath in sorted(out.items() if isinstance(out, dict) and mode != 'import' else []):
    h.update(str(name).encode() + b'\0')
    with open(fpath, 'rb') as fh:
        for blk in iter(lambda: fh.read(1 << 20), b''):
            h.update(blk)
lib = snap if tool == 'snapatac2' else fragcov
res = dict(wall=t1 - t0, cpu=(r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
           base_rss_kb=base_rss, n_files=len(files), digest=h.hexdigest(),
           out_bytes=sum(os.path.getsize(f) for f in files if os.path.exists(f)),
           version=str(getattr(lib, '__version__', '?')))
with open(spec['result'], 'w') as f:
    json.dump(res, f)
"""


def run_worker(spec: dict, timeout: float, log_path: str) -> dict:
    """Run one export in a fresh interpreter; returns measurements or an error."""
    res_path = spec["result"]
    if os.path.exists(res_path):
        os.remove(res_path)
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    with open(log_path, "w") as lf:
        t0 = time.perf_counter()
        p = subprocess.Popen([spec.get("python") or sys.executable, "-c", WORKER_CODE, json.dumps(spec)],
                             stdout=lf, stderr=subprocess.STDOUT, cwd=tempfile.gettempdir(),
                             env=env, start_new_session=True)
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        except KeyboardInterrupt:
            kill()
            raise
        finally:
            timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        proc_wall = time.perf_counter() - t0
    maxrss = ru.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru.ru_maxrss / 1024
    out = dict(proc_wall=proc_wall, peak_rss_mb=maxrss,
               proc_cpu=ru.ru_utime + ru.ru_stime, returncode=p.returncode)
    if timed_out.is_set():
        out["error"] = f"timeout after {timeout:.0f}s"
    elif p.returncode != 0 or not os.path.exists(res_path):
        with open(log_path) as lf:
            tail = lf.read().strip().splitlines()[-3:]
        out["error"] = f"exit {p.returncode}: " + " | ".join(tail)[-300:]
    else:
        with open(res_path) as f:
            r = json.load(f)
        out.update(r)
        out["base_rss_mb"] = r["base_rss_kb"] / 1024
    return out


def summarize(reps: list) -> dict:
    """Median wall/CPU, max peak RSS over repeated runs (the first error wins)."""
    for r in reps:
        if "error" in r:
            return r
    if len(reps) == 1:
        return reps[0]
    import statistics
    rec = dict(reps[0])
    for k in ("wall", "cpu", "proc_wall", "proc_cpu"):
        rec[k] = statistics.median(r[k] for r in reps)
    rec["peak_rss_mb"] = max(r["peak_rss_mb"] for r in reps)
    rec["walls"] = [round(r["wall"], 3) for r in reps]
    digests = {r.get("digest") for r in reps}
    if len(digests) > 1:
        rec["digest_varies"] = True
    rec["repeat"] = len(reps)
    return rec


# ------------------------------------------------------------------------- compare
def read_bedgraph(path: str):
    import pandas as pd
    comp = "zstd" if path.endswith(".zst") else ("gzip" if path.endswith(".gz") else None)
    try:
        df = pd.read_csv(path, sep="\t", header=None, names=["chrom", "start", "end", "value"],
                         compression=comp, dtype={"chrom": str, "start": "int64", "end": "int64",
                                                  "value": "float64"})
    except pd.errors.EmptyDataError:
        df = pd.DataFrame({"chrom": [], "start": [], "end": [], "value": []})
    return df


def merge_runs(df):
    """Merge adjacent records with equal values (canonical step function)."""
    import numpy as np
    if len(df) == 0:
        return df
    c, s, e, v = (df[k].to_numpy() for k in ("chrom", "start", "end", "value"))
    new = np.ones(len(df), dtype=bool)
    new[1:] = ~((c[1:] == c[:-1]) & (s[1:] == e[:-1]) & (v[1:] == v[:-1]))
    idx = np.flatnonzero(new)
    last = np.r_[idx[1:] - 1, len(df) - 1]
    import pandas as pd
    return pd.DataFrame({"chrom": c[idx], "start": s[idx], "end": e[last], "value": v[idx]})


def compare_tracks(a_files: dict, b_files: dict, rtol: float = 1e-6) -> tuple[bool, list[str]]:
    import numpy as np
    lines, ok = [], True
    if set(a_files) != set(b_files):
        return False, [f"group sets differ: {sorted(a_files)} vs {sorted(b_files)}"]
    for g in sorted(a_files):
        a, b = read_bedgraph(a_files[g]), read_bedgraph(b_files[g])
        how = "exact records"
        same_iv = len(a) == len(b) and all((a[k].to_numpy() == b[k].to_numpy()).all()
                                           for k in ("chrom", "start", "end"))
        if not same_iv:
            a, b = merge_runs(a), merge_runs(b)
            how = "after merging equal adjacent records"
            same_iv = len(a) == len(b) and all((a[k].to_numpy() == b[k].to_numpy()).all()
                                               for k in ("chrom", "start", "end"))
        if not same_iv:
            ok = False
            lines.append(f"{g}: DIFFER in intervals ({len(a)} vs {len(b)} records)")
            continue
        va, vb = a["value"].to_numpy(), b["value"].to_numpy()
        rel = np.abs(va - vb) / np.maximum(np.abs(vb), 1e-30)
        mx = float(rel.max()) if rel.size else 0.0
        good = mx <= rtol
        ok &= good
        lines.append(f"{g}: {'agree' if good else 'DIFFER'} ({len(a)} records, {how}, max rel diff {mx:.2e})")
    return ok, lines


# --------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work-dir", default=os.environ.get("FRAGCOV_BENCH_DIR",
                                                         os.path.join(tempfile.gettempdir(), "fragcov-bench")))
    ap.add_argument("--cases", default=None, help=f"comma list of {','.join(ALL_CASES)} (default: all)")
    ap.add_argument("--tools", default="snapatac2,fragcov")
    ap.add_argument("--fragments", default="10M", help="base dataset size (e.g. 1M, 10M)")
    ap.add_argument("--frags-per-cell", type=int, default=5000, help="cells = fragments / this")
    ap.add_argument("--groups", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", default="1,2,4", help="multiples of --fragments for the scale case")
    ap.add_argument("--threads", default="1,2", help="n_jobs values for the threads case")
    ap.add_argument("--n-jobs", type=int, default=2, help="n_jobs for all other cases")
    ap.add_argument("--smooth-fragments", default="1M", help="dataset size for the smooth case")
    ap.add_argument("--compare-fragments", default=None, help="dataset size for compare (default: --fragments)")
    ap.add_argument("--fragcov-input", choices=["path", "backed"], default="path")
    ap.add_argument("--baseline-python", default=None,
                    help="interpreter whose fragcov is the baseline (tool fragcov-main)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per (case, tool): report median wall/CPU and max peak RSS")
    ap.add_argument("--rerun-snapatac2", action="store_true")
    ap.add_argument("--reuse-fragcov", action="store_true")
    ap.add_argument("--keep-outputs", action="store_true")
    ap.add_argument("--markdown", default=None, help="also write the table here")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny run for CI: 20k fragments, 2 groups; fragcov (+ snapatac2 if importable)")
    a = ap.parse_args(argv)

    if a.smoke:
        a.fragments, a.frags_per_cell, a.groups = "20k", 1000, 2
        a.smooth_fragments = "5k"
        a.scale, a.threads = "1,2", "1,2"
        if a.cases is None:
            a.cases = ("default_bw,bedgraph_zst,insertion,smooth,threads,compare,file_tracks,import_position,"
                       "import_barcode")
        if a.work_dir == os.path.join(tempfile.gettempdir(), "fragcov-bench"):
            a.work_dir = os.path.join(tempfile.gettempdir(), "fragcov-bench-smoke")
        a.timeout = min(a.timeout, 300)
    cases = [c.strip() for c in (a.cases or ",".join(ALL_CASES)).split(",") if c.strip()]
    for c in cases:
        if c not in ALL_CASES:
            ap.error(f"unknown case {c!r}; choose from {', '.join(ALL_CASES)}")
    tools = [t.strip() for t in a.tools.split(",") if t.strip()]
    for t in tools:
        if t not in TOOLS:
            ap.error(f"unknown tool {t!r}; choose from {', '.join(TOOLS)}")
    work = os.path.abspath(a.work_dir)
    os.makedirs(os.path.join(work, "logs"), exist_ok=True)

    avail = {}
    for t in tools:
        if t == "fragcov-main" and not a.baseline_python:
            ok, info = False, "needs --baseline-python"
        else:
            ok, info = importable("fragcov" if t == "fragcov-main" else t,
                                  a.baseline_python if t == "fragcov-main" else sys.executable)
        avail[t] = (ok, info)
        log(f"{t}: {'available, version ' + info if ok else 'NOT importable (' + info + ')'}")
    if a.smoke and not avail.get("fragcov", (False,))[0] and "fragcov" in tools:
        print("smoke: fragcov is not importable", file=sys.stderr)
    run_tools = [t for t in tools if avail[t][0]]
    if not run_tools:
        sys.exit("none of the selected tools can be imported")

    base_n = parse_count(a.fragments)

    def dataset(n):
        return Dataset(work, n, max(a.groups, n // a.frags_per_cell), a.groups, a.seed)

    base = dataset(base_n)
    # ---- run plan: (case label, dataset, params, n_jobs)
    BW = {"suffix": ".bw"}
    plan = []
    for c in cases:
        if c == "default_bw":
            plan.append(("default_bw", base, dict(BW), a.n_jobs))
        elif c == "bedgraph_zst":
            plan.append(("bedgraph_zst", base, {"suffix": ".bedgraph.zst"}, a.n_jobs))
        elif c == "insertion":
            plan.append(("insertion", base, dict(BW, counting_strategy="insertion"), a.n_jobs))
        elif c == "smooth":
            plan.append(("smooth", dataset(parse_count(a.smooth_fragments)),
                         dict(BW, bin_size=20, smooth_base=51), a.n_jobs))
        elif c == "scale":
            for m in a.scale.split(","):
                plan.append((f"scale x{m.strip()}", dataset(int(base_n * float(m))), dict(BW), a.n_jobs))
        elif c == "threads":
            for j in a.threads.split(","):
                plan.append((f"threads n_jobs={int(j)}", base, dict(BW), int(j)))
        elif c == "compare":
            ds = dataset(parse_count(a.compare_fragments)) if a.compare_fragments else base
            plan.append(("compare", ds, {"suffix": ".bedgraph.zst", "normalization": "CPM",
                                         "counting_strategy": "insertion"}, a.n_jobs))
        elif c in FILE_CASES:
            plan.append((c, base, dict(BW) if c == "file_tracks" else {}, a.n_jobs))
        elif c in OPTION_CASES:
            plan.append((c, base, dict(BW, **OPTION_CASES[c]), a.n_jobs))

    # ---- datasets (generation + one import each)
    use_fc_import = "snapatac2" not in run_tools  # CI without snapatac2
    needs = {}  # dataset name -> (dataset, needs an .h5ad, needs the position-sorted file)
    for case, ds, _, _ in plan:
        h5, pos = needs.get(ds.name, (ds, False, False))[1:]
        needs[ds.name] = (ds, h5 or case not in FILE_CASES, pos or case in FILE_CASES)
    for ds, need_h5ad, need_position in needs.values():
        ds.ensure(use_fragcov_import=use_fc_import, need_h5ad=need_h5ad, need_position=need_position)

    # ---- cache of earlier results
    res_file = os.path.join(work, "results.jsonl")
    cache = {}
    if os.path.exists(res_file):
        with open(res_file) as f:
            for line in f:
                try:
                    r = json.loads(line)
                    cache[r["key"]] = r
                except (ValueError, KeyError):
                    pass

    def key_of(tool, ds, params, n_jobs):
        inp = a.fragcov_input if tool == "fragcov" else "backed"
        return json.dumps([tool, ds.name, sorted(params.items()), n_jobs, inp])

    results = {}   # (case, tool) -> record
    compare_outputs = {}
    failures = 0
    for case, ds, params, n_jobs in plan:
        mode, kind, sorted_input = FILE_CASES.get(case, ("export", None, None))
        for tool in run_tools:
            if tool == "fragcov-main" and mode == "export":
                continue  # the baseline is compared on the fragment-file cases only
            if tool == "snapatac2" and case in OPTION_CASES:
                continue  # SnapATAC2 has no such option
            key = key_of(tool, ds, params, n_jobs) if mode == "export" else \
                json.dumps([tool, ds.name, case, sorted(params.items()), n_jobs])
            reuse = (tool in ("snapatac2", "fragcov-main") and not a.rerun_snapatac2) or \
                (tool == "fragcov" and a.reuse_fragcov)
            keep = a.keep_outputs or case == "compare"
            done = [r for r in results.values() if r["key"] == key and "error" not in r]
            if done and case != "compare":
                results[(case, tool)] = dict(done[0], case=case)
                continue
            if reuse and key in cache and "error" not in cache[key] and case != "compare":
                rec = dict(cache[key], case=case, cached=True)
                results[(case, tool)] = rec
                log(f"{case:<20} {tool:<9} cached: {rec['wall']:.2f}s wall, {rec['peak_rss_mb']:.0f} MB")
                continue
            safe = "".join(ch if ch.isalnum() else "_" for ch in case)
            out_dir = os.path.join(work, "out", safe, tool)
            shutil.rmtree(out_dir, ignore_errors=True)
            spec = dict(tool=tool, h5ad=ds.h5ad, out_dir=out_dir, n_jobs=n_jobs, params=params,
                        fragcov_input=a.fragcov_input, mode=mode, sorted=sorted_input,
                        fragments=ds.file(kind) if kind else None, groups=os.path.join(ds.dir, "groups.tsv"),
                        chrom_sizes=os.path.join(ds.dir, "chrom.sizes"),
                        python=a.baseline_python if tool == "fragcov-main" else None,
                        result=os.path.join(work, "logs", f"{safe}.{tool}.json"))
            log(f"{case:<20} {tool:<9} running on {ds.name} {params} n_jobs={n_jobs}")
            reps = []
            for i in range(max(1, a.repeat)):
                if i:
                    shutil.rmtree(out_dir, ignore_errors=True)
                reps.append(run_worker(spec, a.timeout, os.path.join(work, "logs", f"{safe}.{tool}.log")))
                if "error" in reps[-1]:
                    break
            rec = summarize(reps)
            rec.update(key=key, case=case, tool=tool, dataset=ds.name, n_fragments=ds.n_frag,
                       n_cells=ds.n_cells, n_groups=ds.n_groups, params=params, n_jobs=n_jobs,
                       date=datetime.datetime.now().isoformat(timespec="seconds"),
                       fragcov_input=a.fragcov_input if tool == "fragcov" else None)
            if "error" in rec:
                failures += 1
                log(f"{case:<20} {tool:<9} FAILED: {rec['error']}")
            else:
                log(f"{case:<20} {tool:<9} {rec['wall']:.2f}s wall, {rec['cpu']:.2f}s CPU, "
                    f"{rec['peak_rss_mb']:.0f} MB peak RSS (base {rec['base_rss_mb']:.0f})")
            results[(case, tool)] = rec
            with open(res_file, "a") as f:
                f.write(json.dumps(rec) + "\n")
            if case == "compare" and "error" not in rec:
                files = {}
                for fn in sorted(os.listdir(out_dir)):
                    if fn.endswith(params["suffix"]):
                        files[fn[: -len(params["suffix"])]] = os.path.join(out_dir, fn)
                compare_outputs[tool] = files
            elif not keep:
                shutil.rmtree(out_dir, ignore_errors=True)

    # ---- compare
    compare_text = None
    if "compare" in cases:
        if len(compare_outputs) == 2:
            ok, lines = compare_tracks(compare_outputs["fragcov"], compare_outputs["snapatac2"])
            compare_text = (f"bedGraph insertion CPM on {[d for c, d, _, _ in plan if c == 'compare'][0].name}: "
                            f"**{'AGREE' if ok else 'DIFFER'}**\n\n" + "\n".join(f"- {line}" for line in lines))
            log("compare: " + ("outputs agree" if ok else "outputs DIFFER"))
            if not ok:
                failures += 1
        else:
            compare_text = "not run (needs both tools: " + ", ".join(
                f"{t}: {'ok' if avail.get(t, (False,))[0] else 'missing'}" for t in TOOLS) + ")"
        if not a.keep_outputs:
            shutil.rmtree(os.path.join(work, "out", "compare"), ignore_errors=True)

    md = render(plan, tools, results, avail, compare_text, a)
    print(md)
    with open(os.path.join(work, "results.md"), "w") as f:
        f.write(md)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(md)
    sys.exit(1 if failures else 0)


def fmt(x, nd=2):
    return "—" if x is None else f"{x:.{nd}f}"


def render(plan, tools, results, avail, compare_text, a) -> str:
    out = ["| case | fragments | cells | n_jobs | tool | wall s | CPU s | peak RSS MB | base RSS MB | output MB |",
           "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    ratio_rows, option_rows = [], []
    for case, ds, params, n_jobs in plan:
        for tool in tools:
            if (tool == "fragcov-main" and case not in FILE_CASES) or (tool == "snapatac2" and case in OPTION_CASES):
                continue
            r = results.get((case, tool))
            head = f"| {case} | {label(ds.n_frag)} | {ds.n_cells} | {n_jobs} | {tool} |"
            if r is None:
                why = "not importable" if not avail.get(tool, (False,))[0] else "not run"
                out.append(f"{head} {why} | | | | |")
            elif "error" in r:
                out.append(f"{head} failed: {r['error'][:80]} | | {fmt(r.get('peak_rss_mb'), 0)} | | |")
            else:
                c = (f" (median of {r['repeat']})" if r.get("repeat", 1) > 1 else "") + \
                    (" (cached)" if r.get("cached") else "")
                out.append(f"{head} {fmt(r['wall'])}{c} | {fmt(r['cpu'])} | {fmt(r['peak_rss_mb'], 0)} | "
                           f"{fmt(r['base_rss_mb'], 0)} | {fmt(r['out_bytes'] / 1e6, 1)} |")
        f = results.get((case, "fragcov"))
        plain = results.get(("default_bw", "fragcov"))
        if case in OPTION_CASES and f and plain and "error" not in f and "error" not in plain:
            option_rows.append(f"| {case} | {params} | {f['wall']:.2f} | {f['wall'] / max(plain['wall'], 1e-9):.2f}x | "
                               f"{f['cpu'] / max(plain['cpu'], 1e-9):.2f}x | {f['peak_rss_mb']:.0f} |")
        for other in ("snapatac2", "fragcov-main"):
            s = results.get((case, other))
            if s and f and "error" not in s and "error" not in f:
                ratio_rows.append(
                    f"| {case} | {label(ds.n_frag)} | {n_jobs} | {other} | {s['wall'] / max(f['wall'], 1e-9):.1f}x | "
                    f"{s['cpu'] / max(f['cpu'], 1e-9):.1f}x | {s['peak_rss_mb'] / max(f['peak_rss_mb'], 1e-9):.1f}x |")
    txt = "\n".join(out)
    txt += "\n\nRatios other tool / fragcov (higher = fragcov better):\n\n"
    if ratio_rows:
        txt += "| case | fragments | n_jobs | vs | wall | CPU | peak RSS |\n|---|---:|---:|---|---:|---:|---:|\n" + \
            "\n".join(ratio_rows)
    else:
        txt += "(none: needs both tools)"
    if option_rows:
        txt += ("\n\nfragcov's own options, each against fragcov's default bigWig export of the same data "
                "(the time ratio; 1.00x = free):\n\n| case | params | wall s | wall / default | CPU / default | "
                "peak RSS MB |\n|---|---|---:|---:|---:|---:|\n" + "\n".join(option_rows))
    det = []
    for tool in tools:
        th = [(case, results.get((case, tool))) for case, _, _, _ in plan if case.startswith("threads")]
        th = [(c, r) for c, r in th if r and "error" not in r and r.get("digest")]
        if len(th) > 1:
            same = len({r["digest"] for _, r in th}) == 1
            det.append(f"- {tool}: outputs {'byte-identical' if same else 'DIFFER'} across "
                       + ", ".join(c.split()[-1] for c, _ in th))
        for case, _, _, _ in plan:
            r = results.get((case, tool))
            if r and r.get("digest_varies"):
                det.append(f"- {tool}: {case}: output differs between repeated runs")
    if det:
        txt += "\n\nDeterminism (sha256 of all output files):\n\n" + "\n".join(det)
    if compare_text is not None:
        txt += "\n\nOutput comparison: " + compare_text
    vers = ", ".join(f"{t} {avail[t][1] if avail[t][0] else 'missing'}" for t in avail)
    txt += f"\n\n({vers}; fragcov input: {a.fragcov_input}; {datetime.datetime.now():%Y-%m-%d %H:%M})\n"
    return txt


if __name__ == "__main__":
    main()
