#!/usr/bin/env bash
# Sets up fragcov and exports coverage tracks from the small bundled dataset.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PYTHON=${PYTHON:-python3}
cd /tmp && exec "$PYTHON" -m fragcov demo --out-dir "${1:-$OLDPWD/fragcov-demo}"
