"""The UI's one door to the engine: probe, plan, install. Tests pass a fake with the same shape.

The UI never opens a disk or runs a command itself; everything goes through an Engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from installer.core.events import Event
from installer.localization import SystemLists, system_lists
from installer.payload.catalog import Catalog, load_catalog
from installer.plan import Plan
from profiles.model import Profile
from storage.inventory import Inventory

Sink = Callable[[Event], None]


class Engine(Protocol):
    image: Path | None  # set when installing into a disk image file (the machine's disks are never offered)

    def probe(self) -> Inventory: ...

    def catalog(self, profile: Profile) -> Catalog: ...

    def localization(self) -> SystemLists: ...  # the time zones, keymaps and locales to offer

    def plan(self, profile: Profile) -> Plan: ...

    def install(self, profile: Profile, sink: Sink) -> int: ...

    def log_path(self) -> Path | None: ...

    def power(self, action: str) -> None: ...


@dataclass
class SessionEngine:
    """The real engine: installer.session with the UI's sink, never echoing to the terminal."""

    image: Path | None = None
    image_size: int | None = None
    log_dir: Path | None = None

    def _size(self) -> int:
        return self.image_size or 8 * 1024**3

    def probe(self) -> Inventory:
        if self.image is not None:
            from installer.targetimage import planned_image_inventory

            return planned_image_inventory(self.image, self._size())
        from installer.core.events import EventBus
        from installer.core.runner import RealRunner
        from storage.inventory import probe

        return probe(RealRunner(EventBus()))

    def catalog(self, profile: Profile) -> Catalog:
        return load_catalog(profile.payload.repositories)

    def localization(self) -> SystemLists:
        return system_lists()

    def plan(self, profile: Profile) -> Plan:
        from installer.session import plan_only

        return plan_only(profile, self.image, self._size() if self.image is not None else None)

    def install(self, profile: Profile, sink: Sink) -> int:
        from installer.session import InstallOptions, install

        options = InstallOptions(yes=True, terminal=False, image=self.image,
                                 image_size=self._size() if self.image is not None else None, log_dir=self.log_dir)
        return install(profile, options, sinks=[sink])

    def log_path(self) -> Path | None:
        from installer.session import DEFAULT_LOG_DIR

        logs = sorted((self.log_dir or DEFAULT_LOG_DIR).glob("install-*.log"))
        return logs[-1] if logs else None

    def power(self, action: str) -> None:
        if action in ("reboot", "poweroff") and self.image is None:
            from installer.core.events import EventBus
            from installer.core.runner import RealRunner

            RealRunner(EventBus()).run(["systemctl", action], check=False)
