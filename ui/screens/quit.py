"""Asks before quitting (ctrl+q, ctrl+c); focus starts on Stay."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button

from ui.widgets import Plain


class QuitScreen(ModalScreen[bool]):
    AUTO_FOCUS = "#stay"  # set before the first key is read, unlike focus() in on_mount
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "stay", "Stay", key_display="esc")]

    def __init__(self, installing: bool) -> None:
        super().__init__()
        self.installing = installing

    def compose(self) -> ComposeResult:
        text = ("! An install is running. Quitting stops it and takes down what it set up; the target disk is "
                "left half written and will not boot."
                if self.installing else "Quit the installer? Nothing has been written to any disk.")
        with Vertical(id="dialog"):
            yield Plain(text)
            with Horizontal(classes="buttons"):
                yield Button("Stay", id="stay")
                yield Button("Quit", id="quit", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit")

    def action_stay(self) -> None:
        self.dismiss(False)
