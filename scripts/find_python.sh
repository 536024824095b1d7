#!/usr/bin/env bash
# Prints the interpreter of CPython $1 (e.g. 3.13), or fails saying how to get it:
# $FRAGCOV_PYTHON_<3XX> (e.g. FRAGCOV_PYTHON_313=/usr/bin/python3.13), else the newest
# ~/.pyenv/versions/3.X.*, else python3.X on PATH. Used by build_wheel.sh and test.sh;
# tests/test_wheel.py looks the same way.
set -euo pipefail
v=${1:?usage: $0 3.X}
var=FRAGCOV_PYTHON_${v/./}
candidates=()
[ -n "${!var:-}" ] && candidates+=("${!var}")
for p in $(ls -d "$HOME"/.pyenv/versions/"$v".*/bin/python 2>/dev/null | sort -V -r); do candidates+=("$p"); done
command -v "python$v" >/dev/null 2>&1 && candidates+=("$(command -v "python$v")")
for p in "${candidates[@]}"; do
  if [ -x "$p" ] && [ "$("$p" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$v" ]; then
    echo "$p"; exit 0
  fi
done
echo "error: no CPython $v found (set $var=/path/to/python$v, or install it: pyenv install $v)" >&2
exit 1
