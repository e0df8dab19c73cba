"""What the screens see of the running installer: its state and how to move on (InstallerApp provides it).

Screens are given this Protocol rather than the app class, so ui.app can import every screen without
the screens importing ui.app back (no import cycle, no imports hidden in functions to dodge one).
"""

from __future__ import annotations

from typing import Any, Protocol

from installer.api import Catalog, InstallerAPI, Inventory, Plan, SystemLists
from ui.choices import Choices


class Installer(Protocol):
    api: InstallerAPI
    choices: Choices
    lists: SystemLists  # the time zones, keymaps and locales Welcome offers
    detected: str  # what the installer found about its own language and time zone, for Welcome
    inventory: Inventory | None  # None until probing is done
    probe_error: str | None
    catalog: Catalog | None  # None until it is loaded
    plan: Plan | None  # the confirmed plan: its profile is what Done saves
    installing: bool
    stopping: int | None  # the signal (or the user's Quit, SIGINT) that is stopping the install

    def probe_text(self) -> str: ...

    def advance(self, step: str) -> None:
        """Push the screen after step (skipping the sections the profile decides)."""

    def start_install(self, plan: Plan) -> None: ...

    def finished(self, code: int, error: str | None) -> None: ...

    def action_request_quit(self) -> None: ...

    def exit(self, result: Any = None, return_code: int = 0, message: Any = None) -> None: ...
