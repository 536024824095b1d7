"""The `fragcov` console script and `python -m fragcov`. Ctrl-C is one line and exit status 130
from this module's first statements on, also while the command's own modules are imported
(docs/spec.md 10.5); `fragcov/__init__` imports nothing, so only the interpreter's own start-up
comes before it."""
import sys

from ._notices import INTERRUPTED  # a few lines over the standard library's warnings


def main(argv=None) -> int:
    try:
        from ._cli import main as run
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    return run(argv)
