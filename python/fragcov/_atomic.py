"""Output files appear complete or not at all.

Every file the Python layer writes is written under a temporary name in the
destination's folder (``.{name}.fragcov-XXXXXX``, the pattern of the C++
TrackWriter) and renamed into place when complete; on any error, Ctrl-C
included, the temporary file is removed. The file is created with mode
``0o666`` filtered by the process umask, like any file a program creates.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import string
from pathlib import Path
from typing import Iterator

_LETTERS = string.ascii_letters + string.digits


def _create_temporary(path: Path) -> Path:
    """An empty file beside `path` with a fresh random name, created exclusively."""
    for _ in range(100):
        suffix = "".join(secrets.choice(_LETTERS) for _ in range(6))
        tmp = path.with_name(f".{path.name}.fragcov-{suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the kernel applies the umask
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"cannot create a temporary file beside '{path}'")


@contextlib.contextmanager
def atomic_output(path) -> Iterator[Path]:
    """Yields a temporary path to write; renames it to `path` when the block ends normally."""
    path = Path(path)
    tmp = _create_temporary(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
