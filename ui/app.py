"""The interactive installer: a Textual app over ui.choices and an InstallerAPI, and its entry point.

run_interactive() chooses the real API (this machine, or a disk image file) or a dry-run on a
recorded machine (--dry-run --machine FILE), and the Textual UI or the line-based mode (dumb
terminal, stdin not a terminal, or --text). Disk probing and catalog loading start in worker threads
at once so the first screen is usable immediately.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message

from installer.api import Catalog, InstallerAPI, Inventory, OptionsError, Plan, add_dry_run_arguments, open_api
from profiles.model import Profile
from ui.choices import Choices

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
        super().__init__()
        from textual.scrollbar import ScrollBar

        from ui.widgets import SafeScrollBarRender

        ScrollBar.renderer = SafeScrollBarRender
        self.api = api
        self.choices = choices or Choices()
        self.inventory: Inventory | None = None
        self.probe_error: str | None = None
        self.catalog: Catalog | None = None
        self.installing = False
        self.plan: Plan | None = None  # the confirmed plan: its profile is what Done saves
        self.detected = detected or "language C.UTF-8, keyboard us, time zone UTC (nothing else detected)"

    def on_mount(self) -> None:
        from ui.screens.welcome import WelcomeScreen

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
        from ui.screens.base import StepScreen
        from ui.screens.disks import DisksScreen
        from ui.screens.encryption import EncryptionScreen
        from ui.screens.review import ReviewScreen
        from ui.screens.software import SoftwareScreen
        from ui.screens.users import UsersScreen

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
        from ui.screens.progress import ProgressScreen

        self.installing = True
        self.plan = plan
        self.switch_screen(ProgressScreen(plan))

    def finished(self, code: int, error: str | None) -> None:
        from ui.screens.done import DoneScreen

        self.installing = False
        self.switch_screen(DoneScreen(code, error))

    def action_request_quit(self) -> None:
        from ui.screens.quit import QuitScreen

        if isinstance(self.screen, QuitScreen):
            return

        def answered(quit_now: bool | None) -> None:
            if quit_now:
                self.exit(("exit", EXIT_FAILED if self.installing else EXIT_BAD_INPUT))

        self.push_screen(QuitScreen(self.installing), answered)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The interactive installer's options (for `python -m ui`; cli.py has its own with the same names)."""
    parser.add_argument("--profile", type=Path, help="prefill the choices from this profile")
    parser.add_argument("--target-image", type=Path, metavar="IMG",
                        help="install into this disk image file; the machine's disks are never offered")
    parser.add_argument("--image-size", metavar="SIZE", help="size of the image, e.g. 8GiB (default 8GiB)")
    parser.add_argument("--text", action="store_true", help="line-based mode (numbered menus and prompts)")
    parser.add_argument("--log-dir", type=Path, metavar="DIR", help="where the install log goes")
    add_dry_run_arguments(parser)


def wants_text_mode(text: bool) -> bool:
    term = os.environ.get("TERM", "")
    return text or term in ("", "dumb", "unknown") or not sys.stdin.isatty()


def detected_settings() -> str:
    lang = os.environ.get("LANG") or "not set"
    tz = os.environ.get("TZ") or "not set"
    return f"LANG {lang}, TZ {tz}, TERM {os.environ.get('TERM', 'not set')}"


def run_interactive(args: argparse.Namespace | None, profile: Path | None, image: Path | None,
                    image_size: int | None, text: bool) -> int:
    """The interactive installer. Returns the exit code: 0 installed, 1 failed or quit mid-install, 2 quit."""
    from profiles import ProfileError, load_profile

    base: Profile | None = None
    if profile is not None:
        try:
            base = load_profile(profile)
        except ProfileError as err:
            print(f"azl-installer: {err}", file=sys.stderr)
            return EXIT_BAD_INPUT
    def report(line: str) -> None:  # what a dry-run says when it ends
        print(f"azl-installer: {line}", file=sys.stderr)

    try:
        with open_api(dry_run=getattr(args, "dry_run", False), machine=getattr(args, "machine", None), image=image,
                      image_size=image_size, log_dir=getattr(args, "log_dir", None), report=report) as api:
            return _run(api, Choices.from_profile(base), text)
    except OptionsError as err:
        print(f"azl-installer: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _run(api: InstallerAPI, choices: Choices, text: bool) -> int:
    facts = api.facts()
    if choices.base is None and api.image is None:
        choices.firmware = facts.firmware  # boot the way this machine boots, unless a profile says otherwise
    detected = detected_settings()
    if facts.recorded:
        detected = f"dry-run machine ({facts.firmware}, nothing is written); {detected}"
    if wants_text_mode(text):
        from ui.text_mode import run_text

        if facts.recorded:
            print(f"Dry run on a recorded machine: {facts.description}. Nothing is written.")
        return run_text(api, choices)
    # TERM=linux gives Rich's 16 standard colours by itself; TEXTUAL_COLOR_SYSTEM=standard forces them elsewhere.
    outcome = InstallerApp(api, choices, detected=detected).run()
    action, code = outcome if outcome is not None else ("exit", EXIT_BAD_INPUT)
    api.power(action)
    return code


def main(argv: list[str] | None = None) -> int:
    from profiles.sizes import SizeError, parse_size

    parser = argparse.ArgumentParser(prog="python -m ui", description="The interactive Azure Linux installer.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    size = None
    if args.target_image is not None:
        try:
            size = parse_size(args.image_size or "8GiB")
        except SizeError as err:
            parser.error(str(err))
    return run_interactive(args, args.profile, args.target_image, size, args.text)
