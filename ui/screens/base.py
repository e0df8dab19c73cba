"""What every step screen shares: a title line, an error line, Back/Next keys and the footer."""

from __future__ import annotations

from typing import ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from ui.state import Installer
from ui.widgets import Plain

STEPS = ("Welcome", "Disks", "Encryption", "Software", "Users", "Review")


class StepScreen(Screen[None]):
    """A screen of the flow. Subclasses yield their body from body() and check in validate()."""

    STEP = "Welcome"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", key_display="esc"),
        Binding("ctrl+n", "next", "Next", key_display="ctrl+n"),
    ]

    @property
    def installer(self) -> Installer:
        return cast(Installer, self.app)

    def compose(self) -> ComposeResult:
        number = STEPS.index(self.STEP) + 1 if self.STEP in STEPS else 0
        where = f"  step {number} of {len(STEPS)}: {self.STEP}" if number else f"  {self.STEP}"
        yield Plain(f"Azure Linux 4.0 installer{where}", classes="title")
        yield from self.body()
        yield Plain("", id="errors", classes="errors")
        yield Footer()

    def body(self) -> ComposeResult:
        yield from ()

    def validate(self) -> list[str]:
        return []

    def show_errors(self, errors: list[str]) -> None:
        self.query_one("#errors", Static).update("\n".join(f"! {e}" for e in errors))

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def action_next(self) -> None:
        errors = self.validate()
        self.show_errors(errors)
        if not errors:
            self.installer.advance(self.STEP)
