#!/usr/bin/env bash
# The README's demo command: sets up fragcov from source (scripts/setup.sh, with the
# `plot` extra that the README's `fragcov plot` command needs) and
# exports coverage tracks of the small bundled dataset into ./fragcov-demo of
# the repository, or into the folder given as the first argument.
set -euo pipefail
out=$(realpath -m "${1:-$(dirname "$0")/../fragcov-demo}")
cd "$(dirname "$0")/.."
FRAGCOV_NO_HINT=1 FRAGCOV_EXTRAS="${FRAGCOV_EXTRAS:-[plot]}" bash scripts/setup.sh
source scripts/python_env.sh
"$FRAGCOV_ENV/bin/fragcov" demo --out-dir "$out"
fragcov_env_hint
