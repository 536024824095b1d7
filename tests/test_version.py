"""One version, one place: pyproject.toml's [project] version is what pip,
fragcov.__version__, fragcov::version() (the compiled core), the CLI, the
CMake package and the conda recipe all report.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from importlib.metadata import version as installed_version

import pytest

import fragcov
from helpers import REPO, project_version
from fragcov import _core
from fragcov._cli import main


def test_python_package_versions_agree_with_pyproject():
    v = project_version()
    assert re.fullmatch(r"[0-9]+(\.[0-9]+)*\S*", v)
    assert installed_version("fragcov") == v  # the wheel's metadata
    assert _core.__version__ == v              # fragcov::version(), compiled in by CMake
    assert fragcov.__version__ == v


def test_cli_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"fragcov {project_version()}"


def test_conda_recipe_version():
    meta = (REPO / "recipe" / "meta.yaml").read_text()
    found = re.findall(r'{%\s*set\s+version\s*=\s*"([^"]+)"\s*%}', meta)
    assert found == [project_version()]


def test_cmake_package_version(tmp_path):
    """A plain CMake build (no scikit-build-core) reads the version from pyproject.toml.
    (test_cpp_package.py builds it and checks what fragcov::version() prints.)"""
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake is not installed")
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []  # pip's cmake comes without make
    proc = subprocess.run([cmake, "-S", REPO, "-B", tmp_path, *generator, "-DFRAGCOV_BUILD_PYTHON=OFF"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout
    numbers = re.match(r"[0-9]+(\.[0-9]+)*", project_version()).group(0)  # project(VERSION) takes numbers only
    config_version = (tmp_path / "fragcovConfigVersion.cmake").read_text()
    assert f'set(PACKAGE_VERSION "{numbers}")' in config_version
