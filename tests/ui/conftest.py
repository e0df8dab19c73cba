"""The UI tests' one fake: the product's own dry-run (installer.dryrun) on a shipped machine, and screen helpers.

A DryRunAPI plans, checks and previews layouts with the real code, and "installs" by walking the plan
through the engine's step events, writing its log under a directory standing for the machine's /.
Tests pin its clock and log stamp so screens and snapshots are the same on every run.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from installer.api import EventSink, Inventory, Listing, SystemLists
from installer.dryrun import DryRunAPI, Machine, load_machine
from profiles.model import Profile
from ui.app import InstallerApp
from ui.choices import Choices

if TYPE_CHECKING:
    from installer.keyvault.client import VaultSettings

for _name in ("NO_COLOR", "TEXTUAL_THEME", "TEXTUAL_COLOR_SYSTEM"):
    os.environ.pop(_name, None)
os.environ["TZ"] = "UTC"  # event times in the log are shown in local time: keep snapshots stable
time.tzset()
STAMP = 1_790_000_000.0
FAILURE = "dnf could not find package nope"

# What the tests' machines offer: fixed, so screens and snapshots do not depend on the test host.
LISTS = SystemLists(
    Listing(("UTC", "America/Chicago", "America/Los_Angeles", "America/New_York", "Asia/Shanghai", "Asia/Tokyo",
             "Australia/Sydney", "Europe/Berlin", "Europe/London", "Europe/Paris"), "tzdata", complete=True),
    Listing(("us", "de", "de-latin1", "de-nodeadkeys", "dvorak", "es", "fr", "gb", "it", "jp106", "uk",
             "us-dvorak"), "kbd", complete=True),
    Listing(("C.UTF-8", "de_AT.UTF-8", "de_CH.UTF-8", "de_DE.UTF-8", "en_GB.UTF-8", "en_US.UTF-8", "es_ES.UTF-8",
             "fr_FR.UTF-8", "ja_JP.UTF-8", "zh_CN.UTF-8"), "SUPPORTED", complete=True),
)

# Every test's dry-run machine keeps its files in its own directory under this one, removed at exit.
_ROOTS = Path(tempfile.mkdtemp(prefix="azl-ui-tests-"))
atexit.register(shutil.rmtree, _ROOTS, True)


def machine(name: str = "three-disks", fail_step: str | None = None, *, device_mapper: bool | None = None) -> Machine:
    """A shipped machine whose install walk takes no time (and fails in fail_step, as dnf would)."""
    recorded = replace(load_machine(name), step_seconds=0.0, fail_step=fail_step, fail_message=FAILURE,
                       lists=LISTS)
    if device_mapper is not None:
        recorded = replace(recorded, facts=replace(recorded.facts, device_mapper=device_mapper))
    return recorded


def inventory(name: str) -> Inventory:
    return load_machine(name).inventory


class HeldDryRun(DryRunAPI):
    """The dry-run with a gate the install waits for, so a test can look at a running install."""

    def __init__(self, recorded: Machine, gate: threading.Event | None = None, root: Path | None = None,
                 vault_settings: VaultSettings | None = None) -> None:
        super().__init__(recorded, root or Path(tempfile.mkdtemp(dir=_ROOTS)), stamp="test", clock=lambda: STAMP,
                         vault_settings=vault_settings)
        self.gate = gate

    def install(self, profile: Profile, sink: EventSink) -> int:
        if self.gate is not None:
            self.gate.wait(10)
        return super().install(profile, sink)


def dry_run(name: str = "three-disks", *, fail_step: str | None = None, gate: threading.Event | None = None,
            root: Path | None = None, vault_settings: VaultSettings | None = None,
            lists: SystemLists | None = None) -> HeldDryRun:
    recorded = machine(name, fail_step)
    return HeldDryRun(replace(recorded, lists=lists) if lists is not None else recorded, gate, root, vault_settings)


def make_app(fixture: str = "three-disks", choices: Choices | None = None, **api_args: object) -> InstallerApp:
    return InstallerApp(dry_run(fixture, **api_args), choices or Choices(),  # type: ignore[arg-type]
                        detected="LANG C.UTF-8, TZ UTC")


def screen_text(app: InstallerApp) -> str:
    """The characters on the terminal now, one line per row."""
    width, height = app.size
    lines = []
    for strip in app.screen._compositor.render_strips()[:height]:
        lines.append("".join(seg.text for seg in strip)[:width])
    return "\n".join(lines)


@pytest.fixture
def app() -> InstallerApp:
    return make_app()
