"""Done (or failed): reboot, power off or exit; where the replayable profile was written."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, Footer

from ui.widgets import Plain

if TYPE_CHECKING:
    from ui.app import InstallerApp


class DoneScreen(Screen[None]):
    AUTO_FOCUS = "#exit"  # set before the first key is read, unlike focus() in on_mount
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "noop", show=False)]

    def __init__(self, code: int, error: str | None) -> None:
        super().__init__()
        self.code = code
        self.error = error

    def compose(self) -> ComposeResult:
        app = cast("InstallerApp", self.app)
        image = app.engine.image
        if self.code == 0:
            where = f"the disk image {image}" if image else "the target disk"
            text = (f"[+] Azure Linux is installed on {where}.\n\nThe profile of this install (secrets removed) "
                    "is in the installed system at /var/log/azl-installer/profile.yaml, with the install log: "
                    "replay it unattended with 'azl-installer install --profile profile.yaml'.")
        else:
            text = f"[!] The install did not complete.\n\n{self.error or ''}"
        yield Plain("Azure Linux 4.0 installer  " + ("done" if self.code == 0 else "failed"), classes="title")
        yield Plain(text, id="outcome", classes="intro")
        if image is not None:
            yield Plain("Installing into a disk image: reboot and power off are not offered.", classes="note")
        with Horizontal(classes="buttons"):
            yield Button("Exit", id="exit")
            yield Button("Reboot", id="reboot", disabled=image is not None or self.code != 0)
            yield Button("Power off", id="poweroff", disabled=image is not None)
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        cast("InstallerApp", self.app).exit((event.button.id or "exit", self.code))

    def action_noop(self) -> None:
        """Nothing to go back to."""
