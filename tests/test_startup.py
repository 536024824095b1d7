"""docs/spec.md 1.1.1: what `import fragcov`, the CLI's --version and --help, and an export from a
fragment file import. Each case runs in a fresh interpreter and reads sys.modules afterwards (not a
timing: the heavy packages are the time, and whether they were imported is what can be checked)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import DATA

HEAVY = ("numpy", "pandas", "anndata", "h5py", "matplotlib", "scipy")


def imported_after(code: str, cwd) -> list[str]:
    """Which of HEAVY are in sys.modules after running `code` in a fresh interpreter."""
    probe = code + f"\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_import_fragcov_imports_no_heavy_package(tmp_path):
    assert imported_after("import fragcov", tmp_path) == []


def test_public_names_load_on_first_use(tmp_path):
    code = ("import fragcov\n"
            "assert fragcov.ex.export_coverage is fragcov.export_coverage\n"
            "assert fragcov.pp.import_fragments is fragcov.import_fragments\n"
            "assert callable(fragcov.pl.tracks) and callable(fragcov.compare_groups)\n"
            "assert set(fragcov.__all__) <= set(dir(fragcov))\n"
            "try:\n    fragcov.no_such_name\nexcept AttributeError:\n    pass\n"
            "else:\n    raise SystemExit('no AttributeError')\n")
    assert "anndata" not in imported_after(code, tmp_path)


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_cli_version_and_help_import_no_heavy_package(tmp_path, argv):
    code = f"from fragcov._cli import main\ntry:\n    main({argv!r})\nexcept SystemExit as e:\n    assert e.code == 0\n"
    assert imported_after(code, tmp_path) == []


@pytest.mark.parametrize("command", ["export-coverage", "compare", "profile", "plot", "export-fragments",
                                     "import-fragments", "demo"])
def test_cli_command_help_never_imports_anndata(tmp_path, command):
    code = (f"from fragcov._cli import main\ntry:\n    main([{command!r}, '--help'])\nexcept SystemExit as e:\n"
            "    assert e.code == 0\n")
    assert "anndata" not in imported_after(code, tmp_path)


def test_fragment_file_export_never_imports_anndata(tmp_path):
    fragments, sizes = DATA / "import" / "pbmc_sub.tsv.gz", DATA / "import" / "pbmc_sub.chrom.sizes"
    code = ("import fragcov, gzip, sys\n"
            f"barcodes = sorted({{l.split('\\t')[3] for l in gzip.open({str(fragments)!r}, 'rt') if l[0] != '#'}})\n"
            "open('groups.tsv', 'w').write(''.join(f'{b}\\tg{i % 2}\\n' for i, b in enumerate(barcodes)))\n"
            f"out = fragcov.export_coverage({str(fragments)!r}, 'groups.tsv', chrom_sizes={str(sizes)!r}, "
            "out_dir='out', suffix='.bw')\n"
            "assert sorted(out) == ['g0', 'g1'], out\n")
    assert "anndata" not in imported_after(code, tmp_path)


def test_h5py_reads_blosc_h5ad_after_import_fragcov(tmp_path):
    """import_fragments writes Blosc/zstd chunks (as SnapATAC2 does); anndata reads them after
    `import fragcov` without `import hdf5plugin`, whether h5py was loaded before fragcov or not."""
    fragments, sizes = DATA / "import" / "pbmc_sub.tsv.gz", DATA / "import" / "pbmc_sub.chrom.sizes"
    code = (f"import fragcov\nfragcov.set_quiet()\nfragcov.import_fragments({str(fragments)!r}, {str(sizes)!r}, "
            "file='x.h5ad')\n")
    assert imported_after(code, tmp_path)  # written (numpy etc. loaded by the import itself)
    for first in ("import fragcov, anndata", "import anndata, fragcov"):
        read = f"{first}\na = anndata.read_h5ad('x.h5ad', backed='r')\nassert a.obsm['fragment_paired'].nnz > 30000\n"
        imported_after(read, tmp_path)


def test_every_sub_command_is_known_to_the_lazy_parser():
    """_run fills in the flags of the sub-command named in argv only: it must know every one."""
    from fragcov._cli import COMMANDS, build_parser

    assert set(build_parser().subcommands) == set(COMMANDS)
    for command in COMMANDS:
        assert build_parser(command).subcommands[command]._actions[1:], command  # more than --help
