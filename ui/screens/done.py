"""Done (or failed): where the replayable profile was written, save it or a log bundle, then reboot or exit."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, Footer

from installer.api import SaveError
from ui.save_files import SaveRow
from ui.state import Installer
from ui.widgets import Plain

TARGET_PROFILE = "/var/log/azl-installer/profile.yaml"  # where the engine's finish step writes it


def bundle_row(app: Installer) -> SaveRow:
    def save(path: Path, overwrite: bool) -> Path:
        return app.api.save_log_bundle(app.plan, path, overwrite=overwrite)

    return SaveRow("Log bundle", app.api.suggested_path("logs"), "Save log bundle", save, id="bundle")


class DoneScreen(Screen[None]):
    AUTO_FOCUS = "#exit"  # set before the first key is read, unlike focus() in on_mount
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "noop", show=False)]

    def __init__(self, code: int, error: str | None) -> None:
        super().__init__()
        self.code = code
        self.error = error

    @property
    def installer(self) -> Installer:
        return cast(Installer, self.app)

    def compose(self) -> ComposeResult:
        app = self.installer
        image = app.api.image
        if self.code == 0:
            where = f"the disk image {image}" if image else "the target disk"
            text = (f"[+] Azure Linux is installed on {where}.\n\nThe profile of this install (secrets removed) was "
                    f"written into the installed system at {TARGET_PROFILE}, with the logs. Replay it unattended "
                    "with 'azl-installer install --profile FILE'.")
        else:
            text = f"[!] The install did not complete.\n\n{self.error or ''}"
        yield Plain("Azure Linux 4.0 installer  " + ("done" if self.code == 0 else "failed"), classes="title")
        yield Plain(text, id="outcome", classes="intro")
        if image is not None:
            yield Plain("Installing into a disk image: reboot and power off are not offered.", classes="note")
        if app.plan is not None:
            yield SaveRow("Profile file", app.api.suggested_path("profile"), "Save profile", self.save_profile,
                          id="profile")
        yield bundle_row(app)
        with Horizontal(classes="buttons"):
            yield Button("Exit", id="exit")
            yield Button("Reboot", id="reboot", disabled=image is not None or self.code != 0)
            yield Button("Power off", id="poweroff", disabled=image is not None)
        yield Footer()

    def save_profile(self, path: Path, overwrite: bool) -> Path:
        if self.installer.plan is None:
            raise SaveError("no profile: the install never had a plan")
        return self.installer.api.save_profile(self.installer.plan.profile, path, overwrite=overwrite)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.installer.exit((event.button.id or "exit", self.code))

    def action_noop(self) -> None:
        """Nothing to go back to."""
