# Sourced by the other scripts (from the repository root): chooses the Python
# environment they install into and run with, creating it when needed. Sets
# PYTHON to its python and FRAGCOV_ENV to its folder, and puts its bin/ first
# on PATH. The environment is
#   1. the active virtualenv ($VIRTUAL_ENV), or the active conda environment
#      other than base ($CONDA_PREFIX);
#   2. else the virtualenv $FRAGCOV_VENV (default: .venv in the repository),
#      created with $PYTHON (default: python3) if it does not exist yet.
# The system Python itself is never installed into: Debian and Ubuntu refuse
# that (PEP 668, "externally-managed-environment"), and it needs root.
if [ -n "${VIRTUAL_ENV:-}" ]; then
  FRAGCOV_ENV=$VIRTUAL_ENV FRAGCOV_ENV_KIND="the active virtualenv"
elif [ -n "${CONDA_PREFIX:-}" ] && [ "${CONDA_DEFAULT_ENV:-base}" != base ]; then
  FRAGCOV_ENV=$CONDA_PREFIX FRAGCOV_ENV_KIND="the active conda environment"
  # its libraries (libdeflate, zstd, zlib from conda-forge) are found by CMake
  export CMAKE_PREFIX_PATH="$CONDA_PREFIX${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
else
  FRAGCOV_ENV=$(realpath -m "${FRAGCOV_VENV:-.venv}") FRAGCOV_ENV_KIND="the virtualenv"
  if [ ! -x "$FRAGCOV_ENV/bin/python" ] || ! "$FRAGCOV_ENV/bin/python" -m pip --version >/dev/null 2>&1; then
    echo "==> creating a virtualenv in $FRAGCOV_ENV with ${PYTHON:-python3}"
    if "${PYTHON:-python3}" -c 'import ensurepip' 2>/dev/null; then
      "${PYTHON:-python3}" -m venv "$FRAGCOV_ENV"
    else
      # Debian/Ubuntu without python3-venv (its ensurepip) and no root to install it: a
      # virtualenv without pip, and pip's wheel from PyPI, which runs itself to install pip
      "${PYTHON:-python3}" -m venv --without-pip "$FRAGCOV_ENV"
      "$FRAGCOV_ENV/bin/python" - "$FRAGCOV_ENV" <<'PY'
import json, subprocess, sys, urllib.parse, urllib.request
from pathlib import Path
index = "https://pypi.org/pypi/pip/json"
release = json.load(urllib.request.urlopen(index, timeout=60))
url = next(urllib.parse.urljoin(index, u["url"]) for u in release["urls"]
           if u["filename"].endswith("-py3-none-any.whl"))
wheel = Path(sys.argv[1]) / url.rsplit("/", 1)[1]
wheel.write_bytes(urllib.request.urlopen(url, timeout=300).read())
subprocess.run([sys.executable, f"{wheel}/pip", "install", "-q", "--no-index", str(wheel)], check=True)
wheel.unlink()
PY
    fi
  fi
fi
PYTHON=$FRAGCOV_ENV/bin/python
export PATH="$FRAGCOV_ENV/bin:$PATH"
echo "==> Python: $PYTHON ($("$PYTHON" -c 'import platform; print(platform.python_version())'), $FRAGCOV_ENV_KIND)"

# Tells the user how to use the environment after the script has finished.
fragcov_env_hint() {
  if [ "$FRAGCOV_ENV_KIND" = "the virtualenv" ]; then
    echo "==> fragcov is installed in $FRAGCOV_ENV: run 'source $FRAGCOV_ENV/bin/activate' to use it"
  else
    echo "==> fragcov is installed in $FRAGCOV_ENV_KIND $FRAGCOV_ENV"
  fi
}

# Build dependencies that scripts/setup.sh obtained without root (scripts/no_root.sh)
if [ -f build/no-root/env.sh ]; then source build/no-root/env.sh; fi
