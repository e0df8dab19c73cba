"""The interactive installer's Textual app over ui.choices and an InstallerAPI (ui/start.py starts it).

Disk probing and catalog loading start in worker threads at once so the first screen is usable
immediately. Screens see the app through ui.state.Installer.
"""

from __future__ import annotations

import asyncio
import signal
from typing import ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.scrollbar import ScrollBar

from installer.api import STOPPING_SIGNALS, Catalog, InstallerAPI, Inventory, Plan, request_stop
from profiles.model import Profile
from ui.choices import Choices
from ui.screens.base import StepScreen
from ui.screens.disks import DisksScreen
from ui.screens.done import DoneScreen
from ui.screens.encryption import EncryptionScreen
from ui.screens.progress import ProgressScreen
from ui.screens.quit import QuitScreen
from ui.screens.review import ReviewScreen
from ui.screens.software import SoftwareScreen
from ui.screens.users import UsersScreen
from ui.screens.welcome import WelcomeScreen
from ui.state import Installer
from ui.terminal import HangupSafeDriver
from ui.widgets import SafeScrollBarRender

# The interactive_sections name of each step screen; steps not named here are always shown.
STEP_SECTIONS = {"Welcome": "system", "Disks": "storage", "Encryption": "encryption", "Software": "software",
                 "Users": "users", "User data": "cloud_init"}
Outcome = tuple[str, int]  # (exit | reboot | poweroff, exit code)
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class InstallerApp(App[Outcome]):
    CSS_PATH = "installer.tcss"
    TITLE = "Azure Linux 4.0 installer"
    ENABLE_COMMAND_PALETTE = False
    AUTO_FOCUS = None
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "request_quit", "Quit", key_display="ctrl+q", priority=True),
        Binding("ctrl+c", "request_quit", "Quit", show=False, priority=True),
    ]

    class Probed(Message):
        def __init__(self, inventory: Inventory | None, error: str | None) -> None:
            super().__init__()
            self.inventory = inventory
            self.error = error

    class CatalogLoaded(Message):
        def __init__(self, catalog: Catalog) -> None:
            super().__init__()
            self.catalog = catalog

    def __init__(self, api: InstallerAPI, choices: Choices | None = None, *, detected: str = "") -> None:
        super().__init__(driver_class=HangupSafeDriver)  # (tests run headless: Textual's own driver there)
        ScrollBar.renderer = SafeScrollBarRender
        self.api = api
        self.choices = choices or Choices()
        self.lists = api.localization()  # what Welcome offers: the installer system's own lists
        self.inventory: Inventory | None = None
        self.probe_error: str | None = None
        self.catalog: Catalog | None = None
        self.installing = False
        self.stopping: int | None = None
        self.plan: Plan | None = None  # the confirmed plan: its profile is what Done saves
        self.detected = detected or "language C.UTF-8, keyboard us, time zone UTC (nothing else detected)"

    def on_mount(self) -> None:
        # Only this (the main) thread receives signals; the install runs in a worker (installer/core/signals.py).
        loop = asyncio.get_running_loop()
        for number in STOPPING_SIGNALS:
            loop.add_signal_handler(number, self.stop, number)
        if self.choices.interactive("system"):
            self.push_screen(WelcomeScreen())
        else:
            self.advance("Welcome")  # interactive_sections: the first screen the profile left open
        self.probe()
        self.load_catalog()

    # -- background work -------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="probe")
    def probe(self) -> None:
        try:
            self.post_message(self.Probed(self.api.probe(), None))
        except Exception as err:  # shown on the Disks screen; the user can still quit cleanly
            self.post_message(self.Probed(None, str(err)))

    @work(thread=True, exclusive=True, group="catalog")
    def load_catalog(self) -> None:
        base = self.choices.base or Profile(storage=self.choices.storage(Inventory()))
        try:
            catalog = self.api.catalog(base)
        except Exception as err:  # a broken repository must not stop the install of other things
            catalog = Catalog(problems=(str(err),))
        self.post_message(self.CatalogLoaded(catalog))

    def probe_text(self) -> str:
        if self.probe_error:
            return f"! probing disks failed: {self.probe_error}"
        if self.inventory is None:
            return "Probing disks in the background ..."
        n = len(self.inventory.disks)
        return f"Found {n} disk{'s' if n != 1 else ''}."

    def on_installer_app_probed(self, message: Probed) -> None:
        self.inventory, self.probe_error = message.inventory, message.error
        if self.inventory is not None:
            self.choices.apply_profile_disks(self.inventory)
        for screen in self.screen_stack:
            for hook in ("inventory_changed", "probe_status"):
                if hasattr(screen, hook):
                    getattr(screen, hook)()

    def on_installer_app_catalog_loaded(self, message: CatalogLoaded) -> None:
        self.catalog = message.catalog
        for screen in self.screen_stack:
            if hasattr(screen, "catalog_changed"):
                screen.catalog_changed()

    # -- the flow --------------------------------------------------------------------------
    def advance(self, step: str) -> None:
        following: dict[str, type[StepScreen]] = {
            "Welcome": DisksScreen, "Disks": EncryptionScreen, "Encryption": SoftwareScreen,
            "Software": UsersScreen, "Users": ReviewScreen}
        # interactive_sections: skip the screens of sections the profile decides (Review always shows).
        while step in following and not self.shows(following[step].STEP):
            step = following[step].STEP
        if step in following:
            self.push_screen(following[step]())

    def shows(self, step: str) -> bool:
        section = STEP_SECTIONS.get(step)
        return section is None or self.choices.interactive(section)

    def start_install(self, plan: Plan) -> None:
        self.installing = True
        self.plan = plan
        self.switch_screen(ProgressScreen(plan))

    def finished(self, code: int, error: str | None) -> None:
        self.installing = False
        if self.stopping is not None:  # stopped and torn down: the program ends, with 128 + the signal
            self.exit(("exit", code))
            return
        self.switch_screen(DoneScreen(code, error))

    def stop(self, number: int) -> None:
        """SIGTERM, SIGHUP, SIGINT, or Quit during an install: an install stops as a failed one does, with its
        teardown, and the program ends after it; with no install running it ends at once (128 + the signal)."""
        if self.stopping is not None:
            return  # stopping already: the teardown must finish
        if self.installing and request_stop(number):
            self.stopping = number
            self.notify("Stopping the install: taking down what it set up (unmount, close, detach) ...",
                        severity="warning", timeout=3600)
            return
        self.exit(("exit", 128 + number))

    def action_request_quit(self) -> None:
        if isinstance(self.screen, QuitScreen) or self.stopping is not None:
            return

        def answered(quit_now: bool | None) -> None:
            if quit_now:
                if self.installing:
                    self.stop(signal.SIGINT)  # as Ctrl+C on a shell: exit code 130 once it is taken down
                else:
                    self.exit(("exit", EXIT_BAD_INPUT))

        self.push_screen(QuitScreen(self.installing), answered)


def _provides_the_screens_view(app: InstallerApp) -> Installer:
    return app  # mypy checks here that the app is what the screens are given (ui.state.Installer)
