"""README.md's code runs as written: every ```python block and every ```bash
block of `fragcov` commands, in order, in a copy of the bundled demo folder
(python/fragcov/data/demo, `fragcov.datasets.demo("folder")`), as the README
tells a newcomer to make it: the files the examples name (fragments.tsv.gz,
barcode_to_cluster.tsv with `barcode<TAB>cell_type<TAB>sample<TAB>ReadsInTSS`,
blacklist.bed) are shipped there, nothing is made up here.

Blocks that set up or install (scripts/, pip, apt-get, conda, cmake) are
named in SETUP_BLOCKS and not run here: scripts/test.sh and test_wheel.py run
them. A block that is neither is an error, so a new README block is either
run or explicitly set aside.
"""
from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO

DEMO = REPO / "python" / "fragcov" / "data" / "demo"
README = REPO / "README.md"

# first command of each block that is not run here, and what runs it instead
SETUP_BLOCKS = {
    "bash scripts/demo.sh": "the README's demo command (scripts/demo.sh; CI runs scripts/test.sh)",
    "bash scripts/test.sh": "what CI runs",
    "bash scripts/build_wheel.sh": "scripts/test.sh",
    "python3 -m venv": "test_wheel.py (fresh virtualenvs)",
    "sudo apt-get install": "scripts/setup.sh",
    "conda create": "recipe/ (conda)",
    "cmake -S . -B build-cpp": "test_cpp_package.py",
    "find_package(fragcov": "test_cpp_package.py",
    "pip install": "scripts/test.sh",
    "fragcov plot python/fragcov/data/demo/": "test_plot.py::test_readme_figure_command (run from the repository)",
    "fragcov profile python/fragcov/data/demo/": "test_profile_outputs.py::test_readme_figure_command (likewise)",
    "cp -r": "the readme_folder fixture below (a copy of the demo folder)",
}


def readme_blocks() -> list:
    """(language, code) of every fenced block of README.md, in order."""
    return re.findall(r"^```(\w*)\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def _first_command(code: str) -> str:
    lines = [ln.strip() for ln in code.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return lines[0] if lines else ""


def _commands(code: str) -> list:
    """Shell commands of a block, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", code)
    return [ln.split(" #")[0].strip() for ln in joined.splitlines()
            if ln.strip() and not ln.strip().startswith("#")]


def classify(lang: str, code: str) -> str:
    if lang == "python":
        return "python"
    if any(_first_command(code).startswith(prefix) for prefix in SETUP_BLOCKS):
        return "setup"
    if lang in ("bash", "sh", "console") and all(c.startswith("fragcov ") for c in _commands(code)):
        return "cli"
    return "unknown"


@pytest.fixture
def readme_folder(tmp_path, monkeypatch):
    folder = tmp_path / "demo-data"
    shutil.copytree(DEMO, folder)  # README: cp -r "$(...demo("folder"))" demo-data
    monkeypatch.chdir(folder)
    monkeypatch.setenv("FRAGCOV_DATA_DIR", str(tmp_path / "cache"))  # fragcov.datasets.demo()'s .h5ad
    return folder


def test_every_block_is_run_or_set_aside():
    blocks = readme_blocks()
    assert len(blocks) >= 8
    unknown = [code for lang, code in blocks if classify(lang, code) == "unknown"]
    assert not unknown, f"README blocks neither run by test_readme.py nor in SETUP_BLOCKS: {unknown}"
    kinds = [classify(lang, code) for lang, code in blocks]
    assert kinds.count("python") >= 3 and kinds.count("cli") >= 1


def test_readme_blocks_run_as_written(readme_folder):
    import fragcov

    fragcov.set_quiet()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    assert shutil.which("fragcov", path=env["PATH"]), "the fragcov command is not installed beside this Python"
    namespace: dict = {}
    ran = 0
    try:
        for i, (lang, code) in enumerate(readme_blocks()):
            kind = classify(lang, code)
            if kind == "python":
                try:
                    exec(compile(code, f"README.md block {i}", "exec"), namespace)
                except Exception as err:  # noqa: BLE001 - name the block, keep the error
                    raise AssertionError(f"README block {i} failed: {type(err).__name__}: {err}\n{code}") from err
                ran += 1
            elif kind == "cli":
                proc = subprocess.run(["bash", "-euo", "pipefail", "-c", code], env=env, cwd=readme_folder,
                                      capture_output=True, text=True, timeout=600)
                assert proc.returncode == 0, f"README block {i} failed ({proc.returncode}):\n{code}\n{proc.stderr}"
                assert "Traceback" not in proc.stderr and "UserWarning" not in proc.stderr, proc.stderr
                ran += 1
    finally:
        fragcov.set_quiet(False)
    assert ran >= 4
    # what the blocks said they write is there
    assert (readme_folder / "pbmc.h5ad").is_file() and (readme_folder / "data.h5ad").is_file()
    assert (readme_folder / "tracks" / "CD14 Mono.bedgraph.zst").is_file()
    assert (readme_folder / "CD14 Mono_donor1.bw").is_file()
    with gzip.open(readme_folder / "fragments" / "CD14 Mono.bed.gz", "rt") as fh:
        assert fh.readline().startswith("chr2")
