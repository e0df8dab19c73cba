"""A fake engine over recorded inventories, and helpers to read what a screen shows."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from installer.core.events import Event
from installer.localization import Listing, SystemLists
from installer.payload.catalog import Catalog, load_catalog
from installer.plan import Plan, make_plan
from profiles.model import Profile
from storage.inventory import Inventory
from ui.app import InstallerApp
from ui.choices import Choices

for _name in ("NO_COLOR", "TEXTUAL_THEME", "TEXTUAL_COLOR_SYSTEM"):
    os.environ.pop(_name, None)
os.environ["TZ"] = "UTC"  # event times in the log are shown in local time: keep snapshots stable
time.tzset()
STAMP = 1_790_000_000.0

FIXTURES = Path(__file__).parent / "fixtures"
# What the fake engine's system offers: fixed, so screens and snapshots do not depend on the test host.
LISTS = SystemLists(
    Listing(("UTC", "America/Chicago", "America/Los_Angeles", "America/New_York", "Asia/Shanghai", "Asia/Tokyo",
             "Australia/Sydney", "Europe/Berlin", "Europe/London", "Europe/Paris"), "tzdata", complete=True),
    Listing(("us", "de", "de-latin1", "de-nodeadkeys", "dvorak", "es", "fr", "gb", "it", "jp106", "uk",
             "us-dvorak"), "kbd", complete=True),
    Listing(("C.UTF-8", "de_AT.UTF-8", "de_CH.UTF-8", "de_DE.UTF-8", "en_GB.UTF-8", "en_US.UTF-8", "es_ES.UTF-8",
             "fr_FR.UTF-8", "ja_JP.UTF-8", "zh_CN.UTF-8"), "SUPPORTED", complete=True),
)


def inventory(name: str) -> Inventory:
    return Inventory.from_json((FIXTURES / f"{name}.json").read_text())


@dataclass
class FakeEngine:
    """The Engine protocol without disks: plans with the real planner, installs by emitting events."""

    inventory: Inventory
    image: Path | None = None
    fail_step: str | None = None
    gate: threading.Event | None = None  # install waits for it, so tests can look at a running install
    installed: list[Profile] = field(default_factory=list)
    powered: list[str] = field(default_factory=list)
    lists: SystemLists = LISTS

    def probe(self) -> Inventory:
        return self.inventory

    def localization(self) -> SystemLists:
        return self.lists

    def catalog(self, profile: Profile) -> Catalog:
        return load_catalog(profile.payload.repositories)

    def plan(self, profile: Profile) -> Plan:
        return make_plan(profile, self.inventory)

    def install(self, profile: Profile, sink: Callable[[Event], None]) -> int:
        self.installed.append(profile)
        plan = self.plan(profile)
        if self.gate is not None:
            self.gate.wait(10)
        for step in plan.steps:
            sink(Event("step-started", step.title, step=step.id, time=STAMP))
            sink(Event("step-progress", "half way", step=step.id, fraction=0.5, time=STAMP))
            if step.id == self.fail_step:
                sink(Event("step-failed", "dnf could not find package nope", step=step.id, level="error", time=STAMP))
                return 1
            sink(Event("log", f"did {step.id}", step=step.id, time=STAMP))
            sink(Event("step-finished", step.title, step=step.id, time=STAMP))
        return 0

    def log_path(self) -> Path | None:
        return Path("/var/log/azl-installer/install-test.log")

    def power(self, action: str) -> None:
        self.powered.append(action)


def make_app(fixture: str = "three-disks", choices: Choices | None = None, **engine_args: object) -> InstallerApp:
    engine = FakeEngine(inventory(fixture), **engine_args)  # type: ignore[arg-type]
    return InstallerApp(engine, choices or Choices(), detected="LANG C.UTF-8, TZ UTC")


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
