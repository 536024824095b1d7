#!/usr/bin/env bash
# The README's test command, and CI's: sets up, builds the binary wheel and
# runs the tests against the installed wheel, not the source tree.
# Arguments go to pytest. Environment: see scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

# 1. system packages (apt-get where usable) and the Python environment
bash scripts/setup.sh --tests --no-install
source scripts/python_env.sh

# 2. sdist + one manylinux_2_28 wheel per CPython 3.10-3.13 (scripts/build_wheel.sh; compiler
#    warnings are errors when FRAGCOV_WERROR=1, as .ci/run sets), and the wheel of this
#    environment's Python installed with its test extras
werror=()
[ "${FRAGCOV_WERROR:-0}" != 0 ] && werror=(-Ccmake.define.FRAGCOV_WERROR=ON)
bash scripts/build_wheel.sh "${werror[@]}"
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

# 3. SnapATAC2 2.9.0 (the reference implementation) enables the live comparisons in
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

# 4. C++ unit tests (sanitized build, ctest, warnings as errors) and the Python linter
bash scripts/test_cpp.sh
"$PYTHON" -m ruff check python tests benchmarks scripts docs

# 5. Python tests, run from tests/ so that the installed wheel is imported;
#    test_wheel.py also installs every wheel into a fresh virtualenv of its own Python
#    (and the sdist into one of this Python)
export FRAGCOV_WHEELS=$wheels FRAGCOV_SDIST=$sdist
fragcov_env_hint
(cd tests && "$PYTHON" -m pytest -q -p no:cacheprovider "$@")

# 6. the whole suite once more on a second Python (FRAGCOV_SECOND_PYTHON, default 3.13;
#    empty: skipped), with that Python's wheel in its own virtualenv
#    ($FRAGCOV_ENV-<version>); test_wheel.py ran above, for every wheel
second=${FRAGCOV_SECOND_PYTHON-3.13}
if [ -n "$second" ] && [ "$second" != "$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" ]; then
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
