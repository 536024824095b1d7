"""The command line is as good as the API (docs/spec.md 10.5, 14.7): `compare` takes several fragment
files, names that would garble its `group<TAB>path` lines are refused, Ctrl-C at any moment (also
while modules are imported) is one line and status 130."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import fragcov
from fragcov._notices import FragcovWarning
from fragcov.demo import DEMO
from test_atlas import table_file, write_samples

SIZES = DEMO / "chrom.sizes"


def run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "fragcov", *map(str, args)], capture_output=True, text=True, **kw)


def test_compare_takes_several_fragment_files_as_the_api_does(tmp_path):
    paths, _ = write_samples(tmp_path / "in")
    table = table_file(tmp_path / "groups.tsv")
    r = run("compare", *(f"{s}={p}" for s, p in paths.items()), "--groups", table, "--chrom-sizes", SIZES,
            "--bin-size", 100, "--suffix", ".bedgraph", "--out-dir", tmp_path / "cli", "-q")
    assert r.returncode == 0, r.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FragcovWarning)
        api = fragcov.compare_groups(paths, table, chrom_sizes=SIZES, bin_size=100, suffix=".bedgraph",
                                     out_dir=tmp_path / "api")
    printed = dict(line.split("\t") for line in r.stdout.splitlines())
    assert set(printed) == set(api) and len(api) >= 3
    for g, p in api.items():
        assert Path(printed[g]).read_bytes() == Path(p).read_bytes()


def test_a_group_name_with_a_tab_is_refused_before_any_file(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FragcovWarning)
        adata = fragcov.import_fragments(DEMO / "fragments.tsv.gz", SIZES, min_num_fragments=0)
    labels = np.where(np.arange(adata.n_obs) % 2 == 0, "a\tb", "c")
    adata.obs["g"] = pd.Categorical(labels)
    adata.write_h5ad(tmp_path / "x.h5ad")
    r = run("export-coverage", tmp_path / "x.h5ad", "--groupby", "g", "--out-dir", tmp_path / "out")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "control character" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "out").exists()


INTERRUPT_AT_IMPORT = """
import builtins, sys
real = builtins.__import__
def interrupting(name, *a, **kw):
    if name == {module!r}:
        raise KeyboardInterrupt
    return real(name, *a, **kw)
builtins.__import__ = interrupting
from fragcov._console import main  # what the console script and python -m fragcov run
sys.exit(main({argv!r}))
"""


def test_ctrl_c_while_modules_are_imported_is_one_line_and_130(tmp_path):
    """A Ctrl-C in the first second of a command lands while modules are imported: raised there on
    purpose, deterministically, from the console script's first statement on (docs/spec.md 10.5): the
    CLI's own module, the standard modules it needs, the C++ core, and what the command imports before
    and after the flags are read (the sub-command's module, the settings, the progress bar)."""
    argv = ["export-coverage", str(DEMO / "fragments.tsv.gz"), "--groups", str(DEMO / "groups.tsv"),
            "--chrom-sizes", str(SIZES), "--out-dir", str(tmp_path / "out")]
    for module in ("_cli", "argparse", "logging", "_core", "_export", "_settings", "tqdm.auto"):
        r = subprocess.run([sys.executable, "-c", INTERRUPT_AT_IMPORT.format(module=module, argv=argv)],
                           capture_output=True, text=True)
        assert r.returncode == 130, (module, r.stderr)
        # the progress bar is imported once the export has said what it starts ("exporting 3 ... track(s)"):
        # that log line may precede the one line of the interruption, nothing else may
        lines = r.stderr.splitlines()
        assert lines[-1] == "fragcov: interrupted; no partial files were left", (module, r.stderr)
        before = lines[:-1]
        assert before == [] if module != "tqdm.auto" else [x[:10] for x in before] == ["exporting "], r.stderr
        assert not (tmp_path / "out").exists()


def test_a_closed_stdout_is_not_a_traceback(tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "fragcov", "export-coverage", str(DEMO / "fragments.tsv.gz"),
                          "--groups", str(DEMO / "groups.tsv"), "--chrom-sizes", str(SIZES), "-q", "--out-dir",
                          str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # as `| head -0` does
    err = p.stderr.read().decode()
    p.stderr.close()
    assert p.wait() == 0 and "Traceback" not in err, err
    assert len(os.listdir(tmp_path / "out")) == 3


def test_fragment_file_flags_given_for_an_h5ad_are_refused_by_name(tmp_path):
    """The CLI hands every fragment-file flag to the request, which refuses those not at their defaults
    for an AnnData input (docs/spec.md 10.1.4, 13.1), instead of dropping them without a word."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FragcovWarning)
        adata = fragcov.import_fragments(DEMO / "fragments.tsv.gz", SIZES, min_num_fragments=0)
    adata.obs["g"] = pd.Categorical(np.where(np.arange(adata.n_obs) % 2 == 0, "a", "b"))
    adata.write_h5ad(tmp_path / "x.h5ad")
    for command in ("export-coverage", "compare", "profile"):
        out = tmp_path / "out"
        extra = (["--anchors", "chr21:9000000-9000100", "--matrix", tmp_path / "m.gz"] if command == "profile"
                 else ["--out-dir", out])
        for flags in (["--chrom-sizes", SIZES], ["--single-end"], ["--shift-left", 4], ["--min-num-fragments", 3],
                      ["--min-kept-fraction", 0.5]):
            r = run(command, tmp_path / "x.h5ad", "--groupby", "g", *flags, *extra)
            assert r.returncode == 2, (command, flags, r.stderr)
            expected = (f"fragcov: error: {flags[0]} only applies when INPUT is a fragment file (an "
                        "AnnData already holds its fragments)\n")
            assert r.stderr == expected, r.stderr
            assert not out.exists() and not (tmp_path / "m.gz").exists()
    r = run("export-coverage", tmp_path / "x.h5ad", "--groupby", "g", "--bin-size", 1000, "--out-dir", tmp_path / "ok",
            "-q")
    assert r.returncode == 0 and sorted(os.listdir(tmp_path / "ok")) == ["a.bw", "b.bw"], r.stderr


def test_profile_names_a_missing_input_before_an_unusable_output(tmp_path):
    """A missing INPUT, --groups or --anchors file is the error even when --matrix is a folder
    (docs/spec.md 6.6: what is read is checked before what is written)."""
    folder = tmp_path / "adir"
    folder.mkdir()
    good = {"input": DEMO / "fragments.tsv.gz", "groups": DEMO / "barcode_to_cluster.tsv",
            "anchors": DEMO / "peaks.bed"}
    for missing in good:
        paths = dict(good, **{missing: tmp_path / f"no-{missing}"})
        r = run("profile", paths["input"], "--groups", paths["groups"], "--chrom-sizes", SIZES,
                "--anchors", paths["anchors"], "--matrix", folder)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert "not found" in r.stderr and f"no-{missing}" in r.stderr, r.stderr
    r = run("profile", good["input"], "--groups", good["groups"], "--chrom-sizes", SIZES, "--anchors", good["anchors"],
            "--matrix", folder)  # all there: now the output is the error
    assert r.returncode == 2 and "is a directory" in r.stderr, r.stderr
