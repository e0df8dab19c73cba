"""The UI tests' fixtures; the helpers they share (the dry-run fake, Pilot walks, snapshots) are in
tests/support/ui.py, which also pins the environment the screens are drawn in."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ui import make_app
from ui.app import InstallerApp


@pytest.fixture
def app() -> InstallerApp:
    return make_app()


@pytest.fixture
def work() -> Iterator[Path]:
    """A short directory for the tmux tests' images: the screens show its path, which must fit one 80-column
    row (pytest's own tmp_path grows with the test's name and, under xdist, the worker's)."""
    folder = Path(tempfile.mkdtemp(prefix="azl-tmux-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
