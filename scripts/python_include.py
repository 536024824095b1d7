"""Prints a folder of this Python's C headers that works on its own (-I<folder> and nothing else),
for builds whose compiler does not search /usr/include (zig's, for the wheels: scripts/build_wheel.sh).

    python scripts/python_include.py DEST [FALLBACK_INCLUDE_ROOT]

Debian's and Ubuntu's system Pythons keep pyconfig.h apart: /usr/include/python3.X/pyconfig.h only
includes <x86_64-linux-gnu/python3.X/pyconfig.h>. Then the headers are copied to DEST with the real
pyconfig.h in place, and DEST is printed; otherwise the Python's own include folder is. Without
headers at all, FALLBACK_INCLUDE_ROOT/python3.X is tried (scripts/no_root.sh unpacks Debian's
libpython3.X-dev there); else the exit status is 1.
"""
from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path


def main() -> int:
    dest = Path(sys.argv[1])
    inc = Path(sysconfig.get_path("include"))
    if not (inc / "Python.h").is_file() and len(sys.argv) > 2:
        inc = Path(sys.argv[2]) / inc.name
    if not (inc / "Python.h").is_file():
        return 1
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    real = inc.parent / multiarch / inc.name / "pyconfig.h"
    if multiarch and real.is_file() and f"<{multiarch}/" in (inc / "pyconfig.h").read_text():
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(inc, dest)
        shutil.copyfile(real, dest / "pyconfig.h")
        inc = dest
    print(inc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
