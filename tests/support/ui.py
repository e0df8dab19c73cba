"""What the UI tests share: their one fake (the product's own dry-run on a shipped machine), Pilot walks,
snapshot steps, the line mode fed from a script, and the environment screens are drawn in.

A DryRunAPI plans, checks and previews layouts with the real code, and "installs" by walking the plan
through the engine's step events, writing its log under a directory standing for the machine's /.
Tests pin its clock and log stamp so screens and snapshots are the same on every run.
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from installer.api import EventSink, Inventory, Listing, SystemLists
from installer.dryrun import DryRunAPI, Machine, load_machine
from profiles.model import Profile
from ui.app import InstallerApp
from ui.choices import Choices
from ui.glyphs import unsafe
from ui.screens.disks import DisksScreen
from ui.screens.review import ReviewScreen
from ui.screens.software import SoftwareScreen
from ui.screens.users import UsersScreen
from ui.text_mode import run_text

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


# -- Pilot ---------------------------------------------------------------------------------
SIZE = (80, 24)


async def shown(pilot: Pilot[Any], app: InstallerApp) -> str:
    await pilot.pause()
    text = screen_text(app)
    assert not unsafe(text), f"glyphs the console lacks: {unsafe(text)}"
    return text


def current(app: InstallerApp) -> Screen[Any]:
    """The active screen, unnarrowed (the isinstance asserts in a test narrow app.screen for mypy)."""
    return app.screen


async def typed(pilot: Pilot[Any], text: str, clear: bool = False) -> None:
    """Type into the focused Input at once (a key press each would take 0.1 s)."""
    focused = pilot.app.focused
    assert isinstance(focused, Input)
    if clear:
        focused.value = ""
    focused.insert_text_at_cursor(text)
    await pilot.pause()


async def to_disks(pilot: Pilot[Any], app: InstallerApp) -> None:
    await pilot.press("ctrl+n")
    await pilot.pause()
    assert isinstance(app.screen, DisksScreen)


async def to_users(pilot: Pilot[Any], app: InstallerApp) -> None:
    await to_disks(pilot, app)
    await pilot.press("space", "ctrl+n")  # /dev/vda becomes the target
    await pilot.press("ctrl+n")  # encryption off
    await pilot.pause()
    assert isinstance(app.screen, SoftwareScreen)
    await pilot.press("space", "ctrl+n")  # the azure-server environment
    await pilot.pause()
    assert isinstance(app.screen, UsersScreen)


async def to_review(pilot: Pilot[Any], app: InstallerApp) -> None:
    await to_users(pilot, app)
    await pilot.press("tab", "tab")
    await typed(pilot, "secret123")
    await pilot.press("tab")
    await typed(pilot, "secret123")
    await pilot.press("ctrl+n")
    await pilot.pause()
    assert isinstance(app.screen, ReviewScreen)
    await app.workers.wait_for_complete()
    await pilot.pause()


# -- snapshots -----------------------------------------------------------------------------
Compare = Callable[..., bool]
Steps = Callable[[Pilot[Any]], Awaitable[None]]


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def walk(*keys: str, values: dict[str, str] | None = None, settle_after: bool = True) -> Steps:
    """Press keys (a '=' entry fills the focused Input from values) and let workers finish."""

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in keys:
            if key.startswith("="):
                focused = pilot.app.focused
                assert isinstance(focused, Input)
                focused.value = (values or {})[key[1:]]
            else:
                await pilot.press(key)
        if settle_after:
            await settle(pilot)

    return run


TO_DISKS = ("ctrl+n", "space")
TO_ENCRYPTION = (*TO_DISKS, "ctrl+n")
TO_SOFTWARE = (*TO_ENCRYPTION, "ctrl+n")
TO_USERS = (*TO_SOFTWARE, "space", "ctrl+n")
TO_REVIEW = (*TO_USERS, "tab", "tab", "=pw", "tab", "=pw", "ctrl+n")
PW = {"pw": "secret123"}


# -- the line mode ------------------------------------------------------------------------
def run(answers: list[str], api: DryRunAPI | None = None) -> tuple[int, str, DryRunAPI]:
    api = api or dry_run()
    it = iter(answers)

    def ask(prompt: str) -> str:
        out.write(prompt)
        try:
            return next(it)
        except StopIteration:
            raise EOFError from None

    out = io.StringIO()
    code = run_text(api, Choices(), ask=ask, out=out, secret=ask)
    return code, out.getvalue(), api
