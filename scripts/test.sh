#!/usr/bin/env bash
# The README's test command, and CI's: sets up, builds the binary wheel and
# runs the tests against the installed wheel, not the source tree.
# Arguments go to pytest. Environment: see scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

# 1. system packages (apt-get where usable) and the Python environment
bash scripts/setup.sh --tests --no-install
source scripts/python_env.sh

# 2. sdist + manylinux wheel (compiler warnings are errors when FRAGCOV_WERROR=1, as
#    .ci/run sets), and the wheel installed with its test extras
werror=()
[ "${FRAGCOV_WERROR:-0}" != 0 ] && werror=(-Ccmake.define.FRAGCOV_WERROR=ON)
bash scripts/build_wheel.sh "${werror[@]}"
wheel=$(ls "$PWD"/dist/fragcov-*.whl) sdist=$(ls "$PWD"/dist/fragcov-*.tar.gz)
"$PYTHON" -m pip uninstall -q -y fragcov >/dev/null 2>&1 || true
"$PYTHON" -m pip install -q --disable-pip-version-check "$wheel[test]"

# 3. SnapATAC2 2.9.0 (the reference implementation) enables the live comparisons in
# test_model_vs_snapatac2.py / test_inputs.py; without it they are skipped, or fail
# when FRAGCOV_REQUIRE_SNAPATAC2=1 (set by .ci/run; pytest inherits it).
if ! "$PYTHON" -m pip install -q --disable-pip-version-check "snapatac2==2.9.0"; then
  if [ "${FRAGCOV_REQUIRE_SNAPATAC2:-0}" != 0 ]; then
    echo "error: snapatac2 2.9.0 could not be installed and FRAGCOV_REQUIRE_SNAPATAC2 is set" >&2
    exit 1
  fi
  echo "warning: snapatac2 2.9.0 could not be installed; its live comparisons will be skipped" >&2
fi

# 4. C++ unit tests (sanitized build, ctest, warnings as errors) and the Python linter
bash scripts/test_cpp.sh
"$PYTHON" -m ruff check python tests benchmarks scripts docs

# 5. Python tests, run from tests/ so that the installed wheel is imported;
#    test_wheel.py also installs the wheel and the sdist into fresh virtualenvs
fragcov_env_hint
cd tests && FRAGCOV_WHEEL=$wheel FRAGCOV_SDIST=$sdist exec "$PYTHON" -m pytest -q -p no:cacheprovider "$@"
