"""Fixtures shared by every tier, and the tier markers: each test gets the marker of its directory
(unit, integration, ui, vm), so `pytest -m "not vm"` is the quick run (`make test-fast`)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.keyvault_standin import StandIn
from tests.support.vault import standin_vault

TIERS = {"unit": "no root, no network, seconds", "integration": "root and loop devices on the host",
         "ui": "the Textual UI through Pilot, snapshots and tmux", "vm": "QEMU guests (TCG, minutes)"}


def pytest_configure(config: pytest.Config) -> None:
    for tier, what in TIERS.items():
        config.addinivalue_line("markers", f"{tier}: {what} (set by the test's directory)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        parts = item.path.relative_to(tests).parts
        if parts and parts[0] in TIERS:
            item.add_marker(parts[0])


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """The Key Vault stand-in (tests/support/vault.py), the VM's managed identity pointed at it."""
    with standin_vault(tmp_path / "standin", monkeypatch) as running:
        yield running


@pytest.fixture(autouse=True)
def _stopping_signals_as_they_were() -> Iterator[None]:
    """A test that runs `azl-installer install` in this process leaves the CLI's after-the-install handlers
    (installer/cli.py): put the process's own back, so later tests' signals act as they should."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    yield
    for number, handler in saved.items():
        if signal.getsignal(number) is not handler and handler is not None:
            signal.signal(number, handler)
