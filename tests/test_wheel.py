"""The binary wheel and the sdist of scripts/build_wheel.sh, on their own.

* The wheel goes into a fresh virtualenv with nothing but pip: binary packages
  only (so nothing is compiled), no compiler on PATH, run from a folder outside
  the repository (no source tree on sys.path). There it runs `fragcov demo` and
  an export whose tracks equal the numpy model (tests/model.py), and the
  extension's shared libraries all resolve inside the wheel or belong to the
  manylinux policy of the wheel's tag.
* The sdist, unpacked outside the repository, installs with pip and works.

Which files: $FRAGCOV_WHEEL / $FRAGCOV_SDIST (scripts/test.sh sets them), else
dist/fragcov-<version>-*manylinux*.whl and dist/fragcov-<version>.tar.gz;
without them these tests are skipped. The fresh virtualenvs take their
dependencies from PyPI (pip's cache makes later runs quicker).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from helpers import (FIXTURE_CASES, REPO, compare_records, fixture_case_id, model_for_case,
                      project_version, read_bedgraph)

# smooth_tiny, CPM, bin 10, smoothing window 4: every rule that needs arithmetic
MODEL_CASES = [c for c in FIXTURE_CASES if c[:2] == ("smooth_tiny", "smooth4_bin10_cpm")]
BIGWIG_MAGIC = 0x888FFC26
DEMO_BIGWIGS = ["CD14 Mono.bw", "CD4 Naive.bw", "CD8 Memory.bw"]  # python/fragcov/data/demo/groups.tsv


def _built(env_var: str, pattern: str) -> Path:
    if os.environ.get(env_var):
        path = Path(os.environ[env_var])
        assert path.is_file(), f"${env_var}={path} does not exist"
        return path
    found = sorted((REPO / "dist").glob(pattern), key=lambda p: p.stat().st_mtime)
    if not found:
        pytest.skip(f"no {pattern} in dist/: run scripts/build_wheel.sh")
    return found[-1]


@pytest.fixture(scope="module")
def wheel() -> Path:
    return _built("FRAGCOV_WHEEL", f"fragcov-{project_version()}-*manylinux*.whl")


@pytest.fixture(scope="module")
def sdist() -> Path:
    return _built("FRAGCOV_SDIST", f"fragcov-{project_version()}.tar.gz")


def _run(cmd, env=None, cwd=None, timeout=900) -> str:
    proc = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)
    assert proc.returncode == 0, f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stdout[-5000:]}"
    return proc.stdout


def _fresh_venv(path: Path) -> Path:
    """A virtualenv of the base interpreter with no site packages; returns its bin/."""
    _run([sys.executable, "-m", "venv", path])
    return path / "bin"


def _clean_env(path: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CONDA_PREFIX", "CC", "CXX")}
    env["PATH"] = path
    return env


@pytest.fixture(scope="module")
def wheel_env(wheel, tmp_path_factory):
    """(bin/ of a fresh virtualenv with only the wheel and its dependencies, env, work dir)."""
    root = tmp_path_factory.mktemp("wheel-venv")
    bindir = _fresh_venv(root / "venv")
    env = _clean_env(str(bindir))  # nothing else on PATH: no compiler, no cmake
    for tool in ("cc", "c++", "gcc", "g++", "clang++", "cmake"):
        assert shutil.which(tool, path=env["PATH"]) is None, tool
    _run([bindir / "python", "-m", "pip", "install", "-q", "--only-binary=:all:", wheel], env=env)
    work = root / "work"
    work.mkdir()
    return bindir, env, work


def test_wheel_name_and_contents(wheel):
    m = re.fullmatch(rf"fragcov-{re.escape(project_version())}-(cp3\d+)-(cp3\d+)-(manylinux_\d+_\d+_\w+)\.whl",
                     wheel.name)
    assert m, wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    assert any(re.fullmatch(r"fragcov/_core\.cpython-3\d+-[\w-]+\.so", n) for n in names)
    assert {"fragcov/_core.pyi", "fragcov/py.typed", "fragcov/data/demo/fragments.tsv.gz"} <= set(names)
    bundled = sorted(n.split("/")[1].split("-")[0] for n in names if n.startswith("fragcov.libs/") and n[-1] != "/")
    # zlib is not among them: libz.so.1 belongs to every manylinux policy
    assert bundled == ["libdeflate", "libgomp", "libzstd"], names


def test_wheel_keeps_the_manylinux_2_34_floor(wheel):
    # README promises manylinux_2_34 (glibc 2.34, GCC 11's libstdc++: RHEL 9 and newer). One
    # newer symbol raises the tag silently: std::condition_variable::wait is GLIBCXX_3.4.30
    # with GCC 12, so the core waits through wait_for (cpp/src/util/wait.hpp).
    tag = wheel.name.rsplit("-", 1)[1].removesuffix(".whl")
    major, minor = map(int, re.match(r"manylinux_(\d+)_(\d+)", tag).groups())
    assert (major, minor) <= (2, 34), f"{tag}: a newer glibc / libstdc++ symbol crept in (auditwheel show says which)"


def test_wheel_runs_demo_without_a_compiler(wheel_env):
    bindir, env, work = wheel_env
    located = _run([bindir / "python", "-I", "-c", "import fragcov; print(fragcov.__file__)"], env=env, cwd=work)
    assert Path(located.strip()).is_relative_to(bindir.parent), located  # not the source tree
    assert _run([bindir / "fragcov", "--version"], env=env, cwd=work).strip() == f"fragcov {project_version()}"

    _run([bindir / "fragcov", "demo", "--out-dir", "demo"], env=env, cwd=work)
    tracks = sorted((work / "demo").iterdir())
    names = [p.name for p in tracks]
    assert sorted(n for n in names if n.endswith(".bw")) == DEMO_BIGWIGS, names
    for p in tracks:
        if p.suffix == ".bw":
            assert int.from_bytes(p.read_bytes()[:4], "little") == BIGWIG_MAGIC, p
        else:
            assert p.name.endswith(".bedgraph.gz") and len(read_bedgraph(p)) > 0, p


@pytest.mark.parametrize("case", MODEL_CASES, ids=fixture_case_id)
def test_wheel_export_matches_model(wheel_env, case):
    bindir, env, work = wheel_env
    ds, cfg, group, suffix, opts = case
    data = REPO / "tests" / "data" / ds
    out = work / f"{cfg}-{group.replace(' ', '_')}"
    _run([bindir / "fragcov", "-q", "export-coverage", data / "fragments.tsv.gz", "--groups", data / "groups.tsv",
          "--chrom-sizes", data / "chrom.sizes", "--min-num-fragments", "0", "--selections", group,
          "--normalization", opts["normalization"], "--bin-size", str(opts["bin_size"]),
          "--smooth-base", str(opts["smooth_base"]), "--suffix", ".bedgraph.gz", "--out-dir", out],
         env=env, cwd=work)
    actual = read_bedgraph(out / f"{group}.bedgraph.gz")
    assert len(actual) > 0
    msg = compare_records(actual, model_for_case(case), label=fixture_case_id(case))
    assert msg is None, msg


def _manylinux_policy(tag: str) -> set[str]:
    """Library sonames the manylinux policy of `tag` lets a wheel take from the system
    (auditwheel's own policy table; PEP 600)."""
    auditwheel = pytest.importorskip("auditwheel", reason="auditwheel (installed by scripts/build_wheel.sh)")
    policy_file = Path(auditwheel.__file__).parent / "policy" / "manylinux-policy.json"
    name = re.match(r"manylinux_\d+_\d+", tag).group(0)
    policies = {p["name"]: p for p in json.loads(policy_file.read_text())}
    assert name in policies, f"{name} not in {policy_file}"
    return set(policies[name]["lib_whitelist"])


def test_wheel_extension_needs_only_the_wheel_and_the_policy(wheel, wheel_env):
    bindir, env, work = wheel_env
    tag = wheel.name.rsplit("-", 1)[1].removesuffix(".whl")
    allowed = _manylinux_policy(tag)
    site = Path(_run([bindir / "python", "-I", "-c", "import fragcov, os; print(os.path.dirname(fragcov.__file__))"],
                     env=env, cwd=work).strip()).parent
    (core,) = (site / "fragcov").glob("_core.*.so")

    ldd = _run(["ldd", core])  # the test's own PATH: ldd is a system tool
    resolved = {}
    for line in ldd.splitlines():
        m = re.match(r"\s*(\S+)(?: => (\S+| ?not found))?", line)
        if m:
            resolved[m.group(1)] = (m.group(2) or "").strip()
    assert not [n for n, p in resolved.items() if "not found" in p], ldd
    from_wheel = {n for n, p in resolved.items() if p and Path(p).resolve().is_relative_to(site.resolve())}
    from_system = {n for n in resolved if n not in from_wheel
                   and not n.startswith(("linux-vdso", "/")) and not n.startswith("ld-linux")}
    assert from_system <= allowed, f"outside the {tag} policy: {sorted(from_system - allowed)}\n{ldd}"
    assert sorted(n.split("-")[0] for n in from_wheel) == ["libdeflate", "libgomp", "libzstd"], ldd

    # auditwheel agrees that the wheel meets the policy in its name
    auditwheel_show = _run([sys.executable, "-m", "auditwheel", "show", wheel])
    assert f'"{tag}"' in " ".join(auditwheel_show.split()), auditwheel_show


def test_sdist_builds_outside_the_repository(sdist, tmp_path):
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path / "src", **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    (src,) = (tmp_path / "src").iterdir()
    assert (src / "pyproject.toml").is_file() and not (src / "tests").exists()
    bindir = _fresh_venv(tmp_path / "venv")
    env = _clean_env(f"{bindir}{os.pathsep}{os.environ['PATH']}")  # with the compiler and cmake
    _run([bindir / "python", "-m", "pip", "install", "-q", src], env=env, cwd=tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    shutil.rmtree(src)  # nothing may still point into the unpacked sources
    assert _run([bindir / "fragcov", "--version"], env=env, cwd=work).strip() == f"fragcov {project_version()}"
    _run([bindir / "fragcov", "-q", "demo", "--out-dir", "demo"], env=env, cwd=work)
    assert sorted(p.name for p in (work / "demo").glob("*.bw")) == DEMO_BIGWIGS
