"""The UI tests' fixtures; the helpers they share (the dry-run fake, Pilot walks, snapshots) are in
tests/support/ui.py, which also pins the environment the screens are drawn in."""

from __future__ import annotations

import pytest

from tests.support.ui import make_app
from ui.app import InstallerApp


@pytest.fixture
def app() -> InstallerApp:
    return make_app()
