"""Every input path is opened as what it is (docs/spec.md section 6.6).

One function, ``open_input``, looks at a path before anything reads it:

- a missing path is a ``FileNotFoundError`` naming it, before any other rule
  looks at the arguments;
- a folder is an ``IsADirectoryError``;
- a stream (a pipe, a named pipe, ``/dev/stdin``, ``<(zcat f.gz)``, a
  device) is never opened here: its bytes can be read only once, so only the
  reader that reads it front to back opens it, and it is never probed as
  HDF5;
- a regular file is told apart by its first bytes: the HDF5 signature, or a
  name ending in ``.h5ad``, ``.h5ads`` or ``.h5``, is an AnnData file; anything
  else is text for the fragment reader (plain or compressed: the reader tells
  the codec from the content).

Kept free of numpy, h5py and anndata so that it costs nothing at start-up.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ANNDATA_SUFFIXES = (".h5ad", ".h5ads", ".h5")

HDF5, TEXT, STREAM = "hdf5", "text", "stream"


@dataclass(frozen=True)
class InputFile:
    """A path that exists, and what it is: HDF5, TEXT (a regular file that is not HDF5) or STREAM."""

    path: str
    kind: str
    what: str  # how errors name it ("fragment file of sample 's1'", "groups table", ...)

    @property
    def is_stream(self) -> bool:
        return self.kind == STREAM

    def describe(self) -> str:
        """'a named pipe', 'a device', ... for a stream (error messages)."""
        return _kind_of(os.stat(self.path).st_mode) if self.is_stream else "a file"


def is_path(obj) -> bool:
    return isinstance(obj, (str, os.PathLike))


def open_input(path, what: str = "input file") -> InputFile:
    """What `path` is (see the module's docstring), or the error that names it."""
    if not is_path(path):
        raise TypeError(f"{what} must be a path (str or os.PathLike), got {type(path).__name__}")
    p = os.fspath(path)
    if not isinstance(p, str):
        p = os.fsdecode(p)
    if "\0" in p:
        raise ValueError(f"{what} {p!r} contains a NUL character")
    try:
        st = os.stat(p)
    except (FileNotFoundError, NotADirectoryError):
        hint = " (a symbolic link to nothing)" if os.path.islink(p) else ""
        # (no err.filename: it would replace the message by "[Errno None] None: 'path'")
        raise FileNotFoundError(f"{what} not found: '{p}'{hint}") from None
    except PermissionError:
        raise PermissionError(f"{what} '{p}' cannot be read: permission denied (on a folder of its path)") from None
    except OSError as err:  # a loop of symbolic links, a name too long, ...
        raise OSError(err.errno, f"{what} '{p}' cannot be opened: {err.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{what} '{p}' is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        return InputFile(p, STREAM, what)
    try:
        with open(p, "rb") as fh:
            head = fh.read(len(HDF5_SIGNATURE))
    except PermissionError:
        raise PermissionError(f"{what} '{p}' cannot be read: permission denied") from None
    except OSError as err:
        raise OSError(err.errno, f"{what} '{p}' cannot be read: {err.strerror}") from None
    if head == HDF5_SIGNATURE or p.lower().endswith(ANNDATA_SUFFIXES):
        return InputFile(p, HDF5, what)
    return InputFile(p, TEXT, what)


def regular_file(path, what: str) -> InputFile:
    """open_input for inputs that are read more than once or by a library that seeks (tables, .h5ad):
    a stream is refused with a ValueError that says so."""
    f = open_input(path, what)
    if f.is_stream:
        raise ValueError(f"{what} '{f.path}' is {f.describe()}, not a regular file: it would have to be read "
                         "more than once or out of order; save it to a file first")
    return f


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
