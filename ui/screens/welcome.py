"""Welcome: language, keyboard and time zone, with what was detected.

The three lists are the installer system's own (installer.core.localization, through the engine);
each field opens a searchable list when typed into.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from ui.screens.base import StepScreen
from ui.screens.picker import PickField
from ui.widgets import Choice, Plain


class WelcomeScreen(StepScreen):
    AUTO_FOCUS = "#locale"  # set before the first key is read, unlike focus() in on_mount
    STEP = "Welcome"

    def body(self) -> ComposeResult:
        c, lists = self.installer.choices, self.installer.lists
        yield Plain("Welcome. This installs Azure Linux 4.0. Nothing is written to any disk before you "
                     "confirm the plan on the Review screen.", classes="intro")
        yield Plain(f"Detected: {self.installer.detected}", classes="note")
        yield PickField("Language", lists.locales.values, c.locale, id="locale")
        yield PickField("Keyboard", lists.keymaps.values, c.keyboard, id="keyboard")
        yield PickField("Time zone", lists.timezones.values, c.timezone, id="timezone")
        yield Plain("Tab moves between fields; typing or Enter searches a list; ctrl+n goes on.",
                     classes="note")
        yield Plain("", id="probe", classes="note")

    def on_mount(self) -> None:
        self.probe_status()

    def probe_status(self) -> None:
        self.query_one("#probe", Static).update(self.installer.probe_text())

    def on_choice_changed(self, event: Choice.Changed) -> None:
        c = self.installer.choices
        if event.choice.id == "locale":
            c.locale = event.value
        elif event.choice.id == "keyboard":
            c.keyboard = event.value
        elif event.choice.id == "timezone":
            c.timezone = event.value

    def action_back(self) -> None:
        self.installer.action_request_quit()
