"""User notices: what fragcov tells about the input or output that is not an
error (skipped lines, empty tracks, barcodes of a table missing from a file).

They are warnings of the category FragcovWarning (a UserWarning), so that a
Python session shows them by default (logging.info, which fragcov used before,
is hidden there) and code can filter or test them with the warnings module;
the CLI prints each as one ``fragcov: warning: ...`` line (docs/spec.md 10.3).
"""
from __future__ import annotations

import warnings


class FragcovWarning(UserWarning):
    """A notice from fragcov about its input or output."""


def warn(message: str, stacklevel: int = 2) -> None:
    """Issue `message` as a FragcovWarning attributed to the caller's caller
    (stacklevel counts as for warnings.warn, from the function calling warn)."""
    warnings.warn(message, FragcovWarning, stacklevel=stacklevel + 1)

# The one line of a command line interrupted by Ctrl-C (exit status 130, docs/spec.md 10.5).
INTERRUPTED = "fragcov: interrupted; no partial files were left"
