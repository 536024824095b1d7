"""Where tracks go: one file per group inside out_dir (docs/spec.md section 4.1).

Checked before any file exists; the file-level rules (name length with the
temporary name, a directory standing at a path) are the core's
``check_output_path``, shared with the C++ writers.
"""
from __future__ import annotations

import os
from pathlib import Path

from . import _core


def _check_prefix(prefix) -> str:
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a string, got {type(prefix).__name__}")
    if "/" in prefix or (os.sep != "/" and os.sep in prefix) or os.path.isabs(prefix):
        raise ValueError(f"prefix {prefix!r} contains a path separator: folders belong in out_dir, "
                         "the prefix is only the start of each file name")
    return prefix


def file_name(prefix: str, group: str, suffix: str) -> str:
    """``prefix + group + suffix`` with '/' in the group replaced by '+'."""
    name = f"{prefix}{group.replace('/', '+')}{suffix}"
    if name in ("", ".", "..") or "\0" in name or (os.sep != "/" and os.sep in name):
        raise ValueError(f"group {group!r} cannot be a file name (got {name!r}); rename the group or "
                         "change prefix/suffix")
    return name


def output_paths(out_dir, prefix, groups: list[str], suffix, keys=None) -> tuple[Path, list[str]]:
    """out_dir and one checked file path per group (``keys``: how to name them in errors)."""
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a path, got {type(out_dir).__name__}")
    prefix = _check_prefix(prefix)
    if not isinstance(suffix, str):
        raise TypeError(f"suffix must be a string, got {type(suffix).__name__}")
    if "/" in suffix:
        raise ValueError(f"suffix {suffix!r} contains a path separator: folders belong in out_dir")
    names = [file_name(prefix, g, suffix) for g in groups]
    seen: dict[str, str] = {}
    for group, name in zip(keys if keys is not None else groups, names):
        if name in seen:
            raise ValueError(f"groups {seen[name]!r} and {group!r} map to the same file name {name!r} "
                             "('/' becomes '+'); rename one of them")
        seen[name] = group
    out_dir_str = os.fspath(out_dir)
    out_path = Path(out_dir_str)
    if out_path.exists() and not out_path.is_dir():
        raise NotADirectoryError(f"out_dir '{out_path}' exists and is not a directory")
    blocking = file_in_the_way(out_path)
    if blocking is not None:
        raise NotADirectoryError(f"out_dir '{out_path}' cannot be created: '{blocking}' is a file, not a folder")
    paths = [os.path.join(out_dir_str, n) for n in names]
    for p in paths:
        _core.check_output_path(p)
    return out_path, paths


def file_in_the_way(path: Path) -> Path | None:
    """What stands where the folder `path` should be: `path` itself or its nearest existing
    ancestor, when that is not a folder (`afile/sub` with `afile` a file); else None."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    return None if p.is_dir() else p


class OutDir:
    """Creates out_dir when the first file is about to be written, and removes
    it again if the export fails and it is still empty (so a failed export
    leaves the file system as it was)."""

    def __init__(self, path: Path):
        self.path = path
        self.created: list[Path] = []

    def make(self) -> None:
        if self.created or self.path.is_dir():
            self._check_writable()
            return
        missing = []
        p = self.path
        while not p.exists():
            missing.append(p)
            p = p.parent
        self.path.mkdir(parents=True, exist_ok=True)
        self.created = missing  # deepest first
        self._check_writable()

    def _check_writable(self) -> None:
        if not os.access(self.path, os.W_OK | os.X_OK):
            raise PermissionError(f"out_dir '{self.path}' is not writable")

    def undo(self) -> None:
        for p in self.created:
            try:
                p.rmdir()  # only if empty
            except OSError:
                break
        self.created = []


# ---- figures (docs/spec.md 15.6): the same guard and the same temporary name + rename as every file ----

FIGURE_FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}


def figure_output(output) -> str | None:
    """The format of a figure file (by suffix), checked before anything is drawn: the core's
    output-path guard (a device, FIFO, socket, folder or link is refused) and an existing folder."""
    if output is None:
        return None
    if not isinstance(output, (str, os.PathLike)):
        raise TypeError(f"output must be a file path, got {type(output).__name__}")
    path = os.fspath(output)
    fmt = FIGURE_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot tell the figure format of {path!r}: use a .png, .pdf or .svg file name")
    _core.check_output_path(path)
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write the figure {path!r}: folder {folder!r} does not exist")
    return fmt


def save_figure(fig, output, fmt: str, dpi) -> None:
    """Writes `fig` under a temporary name beside `output` and renames it into place when complete: a
    figure whose drawing fails leaves nothing behind, an existing file is replaced only by a whole one."""
    from ._atomic import atomic_output

    with atomic_output(output) as tmp:
        fig.savefig(os.fspath(tmp), format=fmt, dpi=dpi)
