"""pytest fixtures shared by the test modules (plain helpers are in helpers.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import DATA


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA
