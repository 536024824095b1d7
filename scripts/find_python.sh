#!/usr/bin/env bash
# Prints the interpreter of CPython $1 (e.g. 3.13), or fails saying how to add it.
# Looked for, in order: $FRAGCOV_PYTHON_<3XX> (e.g. FRAGCOV_PYTHON_313=/usr/bin/python3.13);
# pyenv's newest 3.X.* (when pyenv is on PATH, or $PYENV_ROOT is set); python3.X on PATH.
# Used by build_wheel.sh and test.sh; tests/test_wheel.py looks the same way.
set -euo pipefail
v=${1:?usage: $0 3.X}
var=FRAGCOV_PYTHON_${v/./}
candidates=()
[ -n "${!var:-}" ] && candidates+=("${!var}")
pyenv_root=${PYENV_ROOT:-}
if [ -z "$pyenv_root" ] && command -v pyenv >/dev/null 2>&1; then pyenv_root=$(pyenv root 2>/dev/null || true); fi
if [ -n "$pyenv_root" ]; then
  for p in $(ls -d "$pyenv_root"/versions/"$v".*/bin/python 2>/dev/null | sort -V -r); do candidates+=("$p"); done
fi
command -v "python$v" >/dev/null 2>&1 && candidates+=("$(command -v "python$v")")
for p in "${candidates[@]}"; do
  if [ -x "$p" ] && [ "$("$p" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$v" ]; then
    echo "$p"; exit 0
  fi
done
echo "error: no CPython $v found (set $var=/path/to/python$v, put python$v on PATH, or: pyenv install $v)" >&2
exit 1
