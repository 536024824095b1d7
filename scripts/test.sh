#!/usr/bin/env bash
# Sets up fragcov with its test extras and runs the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
FRAGCOV_EXTRAS="[test]" bash scripts/setup.sh
PYTHON=${PYTHON:-python3}
# run from tests/ so that the installed package, not the source tree, is imported
cd tests && exec "$PYTHON" -m pytest -q -p no:cacheprovider "$@"
