"""The binary wheels and the sdist of scripts/build_wheel.sh, on their own.

* One wheel per CPython 3.10-3.13 ($FRAGCOV_WHEEL_PYTHONS), each tagged
  manylinux_2_28 or older: auditwheel says so, and no ELF file in it needs a
  symbol version beyond auditwheel's manylinux_2_28 policy (objdump -T: GLIBC
  <= 2.28, GLIBCXX / CXXABI / GCC / ZLIB among the policy's versions). The
  checker itself is shown to reject today's kind of wheel (a GCC 12 / glibc 2.36
  build: GLIBC_2.34, GLIBCXX_3.4.30).
* Each wheel goes into a fresh virtualenv of its own Python with nothing but
  pip: binary packages only (so nothing is compiled), no compiler on PATH, run
  from a folder outside the repository (no source tree on sys.path). There it
  runs `fragcov demo` and an export whose tracks equal the numpy model
  (tests/model.py), and the extension's shared libraries all resolve inside the
  wheel or belong to the manylinux policy of the wheel's tag.
* The sdist, unpacked outside the repository, installs with pip and works.

Which files: $FRAGCOV_WHEELS (paths separated by os.pathsep; scripts/test.sh
sets it) or $FRAGCOV_WHEEL (one), and $FRAGCOV_SDIST; else every
dist/fragcov-<version>-*manylinux*.whl and dist/fragcov-<version>.tar.gz;
without them these tests are skipped. Each wheel's Python is
$FRAGCOV_PYTHON_<3XX> (e.g. FRAGCOV_PYTHON_313), else pyenv's 3.X.*, else
python3.X on PATH (as scripts/find_python.sh finds them); a missing one fails
the test. The fresh virtualenvs take their dependencies from PyPI (pip's
cache makes later runs quicker).
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
# README (Install) promises wheels for these Pythons and this floor: glibc 2.28 (RHEL/Rocky/Alma 8,
# Debian 10, Ubuntu 20.04 and newer). scripts/test.sh builds the wheels of the CPythons it finds
# and names them in $FRAGCOV_WHEEL_PYTHONS (CI requires all four).
PYTHONS = sorted(os.environ.get("FRAGCOV_WHEEL_PYTHONS", "3.10,3.11,3.12,3.13").split(","),
                 key=lambda v: tuple(map(int, v.split("."))))
FLOOR = "manylinux_2_28"


def _listed_wheels() -> list[Path]:
    if os.environ.get("FRAGCOV_WHEELS"):
        return [Path(p) for p in os.environ["FRAGCOV_WHEELS"].split(os.pathsep) if p]
    if os.environ.get("FRAGCOV_WHEEL"):
        return [Path(os.environ["FRAGCOV_WHEEL"])]
    return sorted((REPO / "dist").glob(f"fragcov-{project_version()}-*manylinux*.whl"))


WHEELS = _listed_wheels()


def _python_of(wheel: Path) -> str:
    """'3.13' for fragcov-...-cp313-cp313-....whl"""
    return re.sub(r"^3", "3.", re.search(r"-cp(3\d+)-", wheel.name).group(1))


def find_python(version: str) -> Path:
    """The interpreter of CPython `version` ('3.13'), found as scripts/find_python.sh does:
    $FRAGCOV_PYTHON_3XX, else pyenv's newest 3.X.* (pyenv on PATH or $PYENV_ROOT set), else
    python3.X on PATH."""
    var = f"FRAGCOV_PYTHON_{version.replace('.', '')}"
    candidates = [os.environ[var]] if os.environ.get(var) else []
    pyenv_root = os.environ.get("PYENV_ROOT")
    if not pyenv_root and shutil.which("pyenv"):
        pyenv_root = subprocess.run(["pyenv", "root"], stdout=subprocess.PIPE, text=True).stdout.strip()
    if pyenv_root:
        candidates += sorted(Path(pyenv_root).glob(f"versions/{version}.*/bin/python"), reverse=True)
    candidates += [shutil.which(f"python{version}")] if shutil.which(f"python{version}") else []
    for c in candidates:
        out = subprocess.run([str(c), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             stdout=subprocess.PIPE, text=True)
        if out.returncode == 0 and out.stdout.strip() == version:
            return Path(c)
    pytest.fail(f"no CPython {version} to test its wheel with: set {var}=/path/to/python{version}, put "
                f"python{version} on PATH, or install it (pyenv install {version})")


def _built(env_var: str, pattern: str) -> Path:
    if os.environ.get(env_var):
        path = Path(os.environ[env_var])
        assert path.is_file(), f"${env_var}={path} does not exist"
        return path
    found = sorted((REPO / "dist").glob(pattern), key=lambda p: p.stat().st_mtime)
    if not found:
        pytest.skip(f"no {pattern} in dist/: run scripts/build_wheel.sh")
    return found[-1]


@pytest.fixture(scope="module", params=WHEELS or [None],
                ids=[_python_of(w) for w in WHEELS] if WHEELS else ["no-wheel"])
def wheel(request) -> Path:
    if request.param is None:
        pytest.skip("no wheel in dist/: run scripts/build_wheel.sh")
    assert request.param.is_file(), f"{request.param} does not exist"
    return request.param


@pytest.fixture(scope="module")
def sdist() -> Path:
    return _built("FRAGCOV_SDIST", f"fragcov-{project_version()}.tar.gz")


def _run(cmd, env=None, cwd=None, timeout=900) -> str:
    proc = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)
    assert proc.returncode == 0, f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stdout[-5000:]}"
    return proc.stdout


def _fresh_venv(path: Path, python=sys.executable) -> Path:
    """A virtualenv of the interpreter `python` with no site packages; returns its bin/. Where
    `python` has no ensurepip (Debian without python3-venv, as scripts/python_env.sh allows), the
    virtualenv is made without pip and this test's pip installs pip into it."""
    has_ensurepip = subprocess.run([python, "-c", "import ensurepip"], capture_output=True).returncode == 0
    _run([python, "-m", "venv", path] + ([] if has_ensurepip else ["--without-pip"]))
    if not has_ensurepip:
        _run([sys.executable, "-m", "pip", "--python", path / "bin" / "python", "install", "-q",
              "--disable-pip-version-check", "pip"])
    return path / "bin"


def _clean_env(path: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CONDA_PREFIX", "CC", "CXX")}
    env["PATH"] = path
    return env


@pytest.fixture(scope="module")
def wheel_env(wheel, tmp_path_factory):
    """(bin/ of a fresh virtualenv of the wheel's Python with only the wheel and its
    dependencies, env, work dir)."""
    root = tmp_path_factory.mktemp("wheel-venv")
    bindir = _fresh_venv(root / "venv", find_python(_python_of(wheel)))
    env = _clean_env(str(bindir))  # nothing else on PATH: no compiler, no cmake
    for tool in ("cc", "c++", "gcc", "g++", "clang++", "cmake", "zig"):
        assert shutil.which(tool, path=env["PATH"]) is None, tool
    _run([bindir / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
          "--only-binary=:all:", wheel], env=env)
    work = root / "work"
    work.mkdir()
    return bindir, env, work


def test_a_wheel_for_every_python():
    if not WHEELS:
        pytest.skip("no wheel in dist/: run scripts/build_wheel.sh")
    built = sorted({_python_of(w) for w in WHEELS}, key=lambda v: tuple(map(int, v.split("."))))
    assert built == PYTHONS, f"wheels for {built}, expected {PYTHONS}: run scripts/build_wheel.sh"


def test_wheel_name_and_contents(wheel):
    m = re.fullmatch(rf"fragcov-{re.escape(project_version())}-(cp3\d+)-(cp3\d+)-((manylinux_?\w+\.?)+)\.whl",
                     wheel.name)
    assert m, wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    assert any(re.fullmatch(r"fragcov/_core\.cpython-3\d+-[\w-]+\.so", n) for n in names)
    assert {"fragcov/_core.pyi", "fragcov/py.typed", "fragcov/data/demo/fragments.tsv.gz"} <= set(names)
    # libdeflate, zstd and zig's libc++ are linked statically; libz.so.1 belongs to every
    # manylinux policy: nothing to bundle
    bundled = sorted(n for n in names if n.startswith("fragcov.libs/") and n[-1] != "/")
    assert bundled == [], names


def _policies() -> dict:
    """auditwheel's own policy table (PEP 600), by name."""
    auditwheel = pytest.importorskip("auditwheel", reason="auditwheel (installed by scripts/build_wheel.sh)")
    policy_file = Path(auditwheel.__file__).parent / "policy" / "manylinux-policy.json"
    return {p["name"]: p for p in json.loads(policy_file.read_text())}


def _manylinux_policy(tag: str) -> set[str]:
    """Library sonames the manylinux policy of `tag` lets a wheel take from the system."""
    name = re.match(r"manylinux_\d+_\d+", tag).group(0)
    policies = _policies()
    assert name in policies, f"{name} not in auditwheel's policies"
    return set(policies[name]["lib_whitelist"])


def _version_key(v: str):
    return tuple(int(x) if x.isdigit() else -1 for x in v.split("."))


def symbol_version_violations(elf: Path, policy_name: str = FLOOR, arch: str = "x86_64") -> list[str]:
    """The symbol versions that `elf` needs (objdump -T, undefined symbols) and that
    auditwheel's policy `policy_name` does not allow: GLIBC newer than its newest, or a
    GLIBCXX / CXXABI / GCC / ZLIB / LIBATOMIC version not among the policy's."""
    allowed = _policies()[policy_name]["symbol_versions"][arch]
    newest_glibc = max(allowed["GLIBC"], key=_version_key)
    if shutil.which("objdump") is None:
        if os.environ.get("CI"):
            pytest.fail("objdump is needed (binutils; scripts/setup.sh installs it as root)")
        pytest.skip("no objdump (binutils) to read the symbol versions with; CI checks them")
    dump = _run(["objdump", "-T", elf])
    needed = set()
    for line in dump.splitlines():
        if "*UND*" not in line:
            continue
        m = re.search(r"\(?\b([A-Z]+)_([0-9A-Z_][0-9A-Z_.]*)\)?\s+(\S+)$", line)
        if m and m.group(1) in allowed:
            needed.add((m.group(1), m.group(2), m.group(3)))
    bad = []
    for lib, version, symbol in sorted(needed):
        if version not in allowed[lib]:
            why = f"newer than GLIBC_{newest_glibc}" if lib == "GLIBC" else f"not in {policy_name}"
            bad.append(f"{elf.name}: {symbol} needs {lib}_{version} ({why})")
    return bad


def wheel_symbol_violations(wheel: Path, work: Path, policy_name: str = FLOOR) -> list[str]:
    """symbol_version_violations of every ELF file in `wheel`."""
    bad, n_elf = [], 0
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            with zf.open(info) as f:
                if f.read(4) != b"\x7fELF":
                    continue
            n_elf += 1
            path = Path(zf.extract(info, work))
            bad += symbol_version_violations(path, policy_name)
    assert n_elf > 0, f"no ELF file in {wheel.name}"
    return bad


def test_wheel_keeps_the_manylinux_2_28_floor(wheel, tmp_path):
    # README promises glibc 2.28 (RHEL/Rocky/Alma 8, Debian 10, Ubuntu 20.04). One newer
    # symbol would raise the floor: the release wheels are linked by zig against glibc 2.28
    # (cmake/zig-toolchain.cmake), with zig's libc++ inside.
    tags = wheel.name.rsplit("-", 1)[1].removesuffix(".whl").split(".")
    floors = [tuple(map(int, m.groups())) for t in tags if (m := re.match(r"manylinux_(\d+)_(\d+)", t))]
    assert floors and min(floors) <= (2, 28), f"{wheel.name}: tagged above {FLOOR}"
    show = " ".join(_run([sys.executable, "-m", "auditwheel", "show", wheel]).split())
    m = re.search(r'consistent with the following platform tag: "manylinux_(\d+)_(\d+)_x86_64"', show)
    assert m, show
    assert tuple(map(int, m.groups())) <= (2, 28), f"auditwheel: {show}"
    bad = wheel_symbol_violations(wheel, tmp_path)
    assert not bad, "\n".join(bad)


def _write_probe_wheel(work: Path, source: str) -> Path:
    """A wheel like the one scripts/build_wheel.sh made before the zig toolchain (this
    machine's g++ and glibc, tag manylinux_2_34): its _core built from `source`."""
    gxx = shutil.which("g++")
    if gxx is None:
        if os.environ.get("CI"):
            pytest.fail("g++ is needed for the negative case (scripts/setup.sh installs it)")
        pytest.skip("no g++ to build the negative case with")
    (work / "probe.cpp").write_text(source)
    so = work / "_core.cpython-311-x86_64-linux-gnu.so"
    _run([gxx, "-O2", "-shared", "-fPIC", "-o", so, work / "probe.cpp", "-lpthread"])
    wheel = work / "fragcov-0.1.0-cp311-cp311-manylinux_2_34_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(so, "fragcov/" + so.name)
    return wheel


# What made the old wheel manylinux_2_34 or newer: glibc 2.34 moved pthread_create into
# libc (GLIBC_2.34), and GCC 12's condition_variable::wait is GLIBCXX_3.4.30 (wait.hpp)
PROBE_2_34 = """
#include <condition_variable>
#include <mutex>
#include <pthread.h>
static void* run(void* arg) { return arg; }
extern "C" int probe_thread() { pthread_t t; return pthread_create(&t, nullptr, run, nullptr); }
void probe_wait(std::condition_variable& cv, std::unique_lock<std::mutex>& lock) { cv.wait(lock); }
"""


def test_symbol_check_rejects_a_manylinux_2_34_wheel(tmp_path):
    glibc = os.confstr("CS_GNU_LIBC_VERSION").split()[-1]
    if _version_key(glibc) < _version_key("2.34"):
        pytest.skip(f"this machine's glibc {glibc} links no GLIBC_2.34 symbol")
    wheel = _write_probe_wheel(tmp_path, PROBE_2_34)
    bad = wheel_symbol_violations(wheel, tmp_path / "x")
    assert any("pthread_create needs GLIBC_2.34 (newer than GLIBC_2.28)" in b for b in bad), bad
    gcc_major = int(_run(["g++", "-dumpversion"]).split(".")[0])
    if gcc_major >= 12:
        assert any("needs GLIBCXX_3.4.30 (not in manylinux_2_28)" in b for b in bad), bad


def test_symbol_check_rejects_the_system_toolchain_wheel(tmp_path):
    """$FRAGCOV_SYSTEM_WHEEL: a real wheel of `scripts/build_wheel.sh --toolchain=system`
    (today's manylinux_2_34 kind); optional, since building it costs a compile."""
    if not os.environ.get("FRAGCOV_SYSTEM_WHEEL"):
        pytest.skip("set FRAGCOV_SYSTEM_WHEEL to a wheel of build_wheel.sh --toolchain=system")
    bad = wheel_symbol_violations(Path(os.environ["FRAGCOV_SYSTEM_WHEEL"]), tmp_path)
    assert any("GLIBC_2.3" in b for b in bad), bad


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


def test_wheel_extension_needs_only_the_wheel_and_the_policy(wheel, wheel_env):
    bindir, env, work = wheel_env
    tag = wheel.name.rsplit("-", 1)[1].removesuffix(".whl").split(".")[-1]
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
    assert not from_wheel, ldd  # everything but the policy's libraries is linked statically


def test_wheel_plot_extra_runs_the_readme_figure(wheel, wheel_env):
    """`pip install 'fragcov-....whl[plot]'` brings what `fragcov plot` needs (README, quick start);
    run last on this wheel's virtualenv, after the tests of the bare wheel."""
    bindir, env, work = wheel_env
    _run([bindir / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", "--only-binary=:all:",
          f"{wheel}[plot]"], env=env)
    demo = Path(_run([bindir / "python", "-I", "-c", "import fragcov; print(fragcov.datasets.demo('folder'))"],
                     env=env, cwd=work).strip())
    out = work / "tracks.png"
    _run([bindir / "fragcov", "plot", demo / "fragments.tsv.gz", "--groups", demo / "groups.tsv",
          "--chrom-sizes", demo / "chrom.sizes", "--region", "chr21:11,900,000-11,960,000", "--bin-size", "250",
          "--genes", demo / "genes.gtf", "--highlight", "chr21:11,939,000-11,940,500", "--output", out],
         env=env, cwd=work)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


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
