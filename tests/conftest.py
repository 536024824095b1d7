"""pytest fixtures shared by the test modules (plain helpers are in helpers.py)."""
from __future__ import annotations

import signal
from pathlib import Path

import pytest

from helpers import DATA

# A suite started in the background by a non-interactive shell (`pytest ... &` in a script) inherits
# SIGINT ignored, and so would every interpreter the Ctrl-C tests start: an ignored SIGINT is kept
# across exec, where Python then installs no KeyboardInterrupt handler and the interrupted work runs on
# (those tests hung until their timeout). A handler of ours is reset to the default at exec instead.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA
