"""Output files appear complete or not at all (docs/spec.md section 6.4).

The Python layer's files (.h5ad from import_fragments) go through the same
C++ ``AtomicPath`` as every track: written under a temporary name in the
destination's folder (``.{name}.fragcov-XXXXXX``, mode 0666 minus the umask),
renamed into place when complete, removed on any error, Ctrl-C included.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

from . import _core


@contextlib.contextmanager
def atomic_output(path) -> Iterator[Path]:
    """Yields a temporary path to write; renames it to `path` when the block ends normally."""
    with _core.AtomicPath(os.fspath(path)) as target:
        yield Path(target.temp_path)
