#!/usr/bin/env bash
# The README's test command, and CI's: sets up, builds the binary wheel of this
# environment's Python (and of the other CPythons 3.10-3.13 it finds) and runs the
# tests against the installed wheel, not the source tree. Arguments go to pytest.
#
# Environment (besides scripts/setup.sh's):
#   FRAGCOV_REQUIRE_PYTHONS  e.g. 3.10,3.11,3.12,3.13: each must be found, else the run fails
#                            (.ci/run sets it; by default a CPython that is not found is skipped
#                            with a note saying how to add it)
#   FRAGCOV_SECOND_PYTHON    e.g. 3.13: run the whole suite once more on that Python's wheel
#                            (.ci/run sets it; default: not run)
#   FRAGCOV_PYTHON_<3XX>     where CPython 3.X is (scripts/find_python.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

# 1. system packages (apt-get where usable) and the Python environment
bash scripts/setup.sh --tests --no-install
source scripts/python_env.sh

# 2. which CPythons get a wheel: this environment's, and the others of 3.10-3.13 that are found
here=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
export "FRAGCOV_PYTHON_${here/./}=$PYTHON"
pythons=$here skipped=()
for v in 3.10 3.11 3.12 3.13; do
  [ "$v" = "$here" ] && continue
  if py=$(bash scripts/find_python.sh "$v" 2>/dev/null); then
    export "FRAGCOV_PYTHON_${v/./}=$py" && pythons="$pythons,$v"
  else
    skipped+=("$v")
  fi
done
for v in ${FRAGCOV_REQUIRE_PYTHONS:+${FRAGCOV_REQUIRE_PYTHONS//,/ }}; do
  case ",$pythons," in
    *",$v,"*) ;;
    *) bash scripts/find_python.sh "$v" >/dev/null  # says how to add it
       echo "error: CPython $v is required (FRAGCOV_REQUIRE_PYTHONS=$FRAGCOV_REQUIRE_PYTHONS)" >&2; exit 1 ;;
  esac
done
echo "==> wheels for CPython ${pythons//,/, }"
if [ ${#skipped[@]} -gt 0 ]; then
  echo "==> skipped CPython ${skipped[*]}: not found. To test their wheels too, set FRAGCOV_PYTHON_3XX=/path/to/python3.X," \
       "put python3.X on PATH, or install it with pyenv (pyenv install 3.X)"
fi
export FRAGCOV_WHEEL_PYTHONS=$pythons

# 3. sdist + one manylinux_2_28 wheel per CPython (scripts/build_wheel.sh; compiler warnings
#    are errors when FRAGCOV_WERROR=1, as .ci/run sets), and this environment's wheel
#    installed with its test extras
werror=()
[ "${FRAGCOV_WERROR:-0}" != 0 ] && werror=(-Ccmake.define.FRAGCOV_WERROR=ON)
bash scripts/build_wheel.sh --python="$pythons" "${werror[@]}"
sdist=$(ls "$PWD"/dist/fragcov-*.tar.gz)
wheels=$(ls "$PWD"/dist/fragcov-*.whl | tr '\n' : | sed 's/:$//')
wheel_for() {  # the wheel of dist/ for the Python $1
  local tag
  tag=$("$1" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
  ls "$PWD"/dist/fragcov-*-"$tag"-"$tag"-*.whl 2>/dev/null \
    || { echo "error: no wheel for $tag in dist/ (build_wheel.sh --python=...)" >&2; return 1; }
}
wheel=$(wheel_for "$PYTHON")
"$PYTHON" -m pip uninstall -q -y fragcov >/dev/null 2>&1 || true
"$PYTHON" -m pip install -q --disable-pip-version-check "$wheel[test]"

# 4. SnapATAC2 2.9.0 (the reference implementation) enables the live comparisons in
# test_model_vs_snapatac2.py / test_inputs.py; without it they are skipped, or fail
# when FRAGCOV_REQUIRE_SNAPATAC2=1 (set by .ci/run; pytest inherits it).
install_snapatac2() {  # into the environment of the Python $1
  if ! "$1" -m pip install -q --disable-pip-version-check "snapatac2==2.9.0"; then
    if [ "${FRAGCOV_REQUIRE_SNAPATAC2:-0}" != 0 ]; then
      echo "error: snapatac2 2.9.0 could not be installed and FRAGCOV_REQUIRE_SNAPATAC2 is set" >&2
      exit 1
    fi
    echo "warning: snapatac2 2.9.0 could not be installed; its live comparisons will be skipped" >&2
  fi
}
install_snapatac2 "$PYTHON"

# 5. C++ unit tests (sanitized build and Release build, ctest, warnings as errors), the Python linter
#    and type checker
bash scripts/test_cpp.sh
bash scripts/test_cpp.sh --release
"$PYTHON" -m ruff check python tests benchmarks scripts docs
"$PYTHON" -m mypy  # the package against its annotations (configuration: pyproject.toml)

# 6. Python tests, run from tests/ so that the installed wheel is imported;
#    test_wheel.py also installs every wheel into a fresh virtualenv of its own Python
#    (and the sdist into one of this Python)
export FRAGCOV_WHEELS=$wheels FRAGCOV_SDIST=$sdist
fragcov_env_hint
(cd tests && "$PYTHON" -m pytest -q -p no:cacheprovider "$@")

# 7. CI only (FRAGCOV_SECOND_PYTHON): the whole suite once more on a second Python, with that
#    Python's wheel in its own virtualenv ($FRAGCOV_ENV-<version>); test_wheel.py ran above,
#    for every wheel
second=${FRAGCOV_SECOND_PYTHON:-}
if [ -n "$second" ] && [ "$second" != "$here" ]; then
  base=$(bash scripts/find_python.sh "$second")
  env2=$FRAGCOV_ENV-$second
  [ -x "$env2/bin/python" ] || "$base" -m venv "$env2"
  echo "==> Python: $env2/bin/python ($("$env2/bin/python" -c 'import platform; print(platform.python_version())'))"
  "$env2/bin/python" -m pip uninstall -q -y fragcov >/dev/null 2>&1 || true
  "$env2/bin/python" -m pip install -q --disable-pip-version-check "$(wheel_for "$env2/bin/python")[test]"
  install_snapatac2 "$env2/bin/python"
  (cd tests && PATH="$env2/bin:$PATH" "$env2/bin/python" -m pytest -q -p no:cacheprovider \
     --ignore=test_wheel.py "$@")
fi
echo "==> scripts/test.sh passed in $((SECONDS - start)) s (CPython ${pythons//,/, }${skipped:+; skipped ${skipped[*]}})"
