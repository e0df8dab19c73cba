"""cloud-init user-data: an optional editor, checked line by line by the engine's validator.

Reached from the Users screen (its button or ctrl+o). Empty means no user-data; the text is kept
when leaving with Esc, and the Users screen will not go on while it has problems.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, TextArea

from ui.screens.base import StepScreen
from ui.widgets import Plain

EXAMPLE = """#cloud-config
packages:
  - tmux
runcmd:
  - [systemctl, enable, --now, chronyd]
"""


def status(text: str, problems: list[str]) -> str:
    """One line for the Users screen: what user-data the install will carry."""
    if not text.strip():
        return "cloud-init user-data: none (optional: ctrl+o or the button writes some)"
    lines = len(text.strip().splitlines())
    verdict = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}" if problems else "checked, fine"
    return f"cloud-init user-data: {lines} line{'s' if lines != 1 else ''}, {verdict}"


class UserDataScreen(StepScreen):
    AUTO_FOCUS = "#user_data"
    STEP = "Users: cloud-init user-data"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+n", "next", "Done", key_display="ctrl+n")]
    DEFAULT_CSS = """
    UserDataScreen #user_data { height: 1fr; border: solid ansi_white; }
    UserDataScreen #user_data:focus { border: double ansi_bright_white; }
    """

    def body(self) -> ComposeResult:
        yield Plain("Optional. Starts with '#cloud-config' (YAML) or is a MIME multipart; checked as you type. "
                    "Tab leaves the editor; empty = no user-data.", classes="note")
        yield TextArea(self.installer.choices.user_data, id="user_data", soft_wrap=False, tab_behavior="focus")
        with Horizontal(classes="buttons"):
            yield Button("Done", id="done")
            yield Button("Insert example", id="example")
            yield Button("Clear", id="clear")

    def on_mount(self) -> None:
        self.show_errors(self.validate())

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.installer.choices.user_data = event.text_area.text
        self.show_errors(self.validate())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        area = self.query_one("#user_data", TextArea)
        if event.button.id == "done":
            self.action_back()
        elif event.button.id == "example":
            area.text = EXAMPLE if not area.text.strip() else area.text
            area.focus()
        elif event.button.id == "clear":
            area.text = ""
            area.focus()

    def validate(self) -> list[str]:
        return self.installer.choices.check_cloud_init()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_next(self) -> None:
        self.action_back()
