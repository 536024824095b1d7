"""Global switches: progress bars, log messages and the export's memory budget."""
from __future__ import annotations

import logging

from . import _core

progress = None  # None: show bars on an interactive terminal only; True/False: always/never

# Bytes of binned units export_coverage keeps in memory before spilling them to a
# file in `tempdir` (8 bytes per unit; the core never buffers fewer than 256 units).
# A tuning knob for tests and advanced users: a smaller budget uses less memory
# and more disk I/O; the tracks are the same bytes whatever the budget. Its default
# is the C++ core's own (ExportOptions::memory_budget_bytes, docs/spec.md 1.6.2).
memory_budget_bytes = _core.ExportOptions().memory_budget_bytes


def progress_bar(**kwargs):
    from tqdm.auto import tqdm

    return tqdm(disable=None if progress is None else not progress, **kwargs)


def set_quiet(quiet: bool = True) -> None:
    """Silence (or restore) fragcov's progress bars and log messages.

    ``set_quiet(True)`` (the default) hides the progress bars (tqdm) and sets the logger
    ``"fragcov"`` to ``WARNING``; ``set_quiet(False)`` shows bars again on an interactive terminal
    and restores the logger's level. Warnings about the input (``fragcov.FragcovWarning``) are
    not affected: hide those with ``warnings.filterwarnings("ignore", category=fragcov.FragcovWarning)``.
    The command line's ``-q`` does the same.

    Parameters
    ----------
    quiet
        ``True``: silence; ``False``: restore.

    Examples
    --------
    >>> import fragcov
    >>> fragcov.set_quiet()          # e.g. in a pipeline's many small jobs
    >>> fragcov.set_quiet(False)
    """
    global progress
    progress = False if quiet else None
    logging.getLogger("fragcov").setLevel(logging.WARNING if quiet else logging.NOTSET)
