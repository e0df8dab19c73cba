"""A searchable list for the long choices (time zone, keyboard, language): type to narrow it, Enter picks.

The filter Input keeps the focus the whole time, so every printable key narrows the list;
Up/Down and PageUp/PageDown move the highlight in it, Enter takes the highlighted entry and
Escape leaves the value as it was. Matching is installer.core.localization.matches, the same as
the line mode's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from installer.api import narrowed
from ui.widgets import Choice, Plain

PAGE = 8


class PickerScreen(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", key_display="esc"),
        Binding("down", "move(1)", "Move", key_display="up/down", show=False),
        Binding("up", "move(-1)", "Move", show=False),
        Binding("pagedown", "move(8)", "Page", show=False),
        Binding("pageup", "move(-8)", "Page", show=False),
    ]

    def __init__(self, label: str, options: Sequence[str], current: str, typed: str = "") -> None:
        super().__init__()
        self.label, self.options, self.current, self.typed = label, list(options), current, typed
        self.found: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Plain(f"{self.label}: type part of a name; Up/Down move, Enter picks", classes="label")
            # select_on_focus off: the key that opened the list is the start of the name, not a selection
            # that the next key would replace.
            yield Input(self.typed, placeholder="e.g. berlin, de_, dvorak", id="picker-filter",
                        select_on_focus=False)
            yield OptionList(id="picker-list")
            yield Plain("", id="picker-count", classes="note")

    def on_mount(self) -> None:
        self.query_one("#picker-list", OptionList).can_focus = False  # typing always goes to the filter
        field = self.query_one("#picker-filter", Input)
        field.focus()
        field.cursor_position = len(field.value)
        self.refilter()

    def refilter(self) -> None:
        typed = self.query_one("#picker-filter", Input).value
        self.found = narrowed(self.options, typed)
        listing = self.query_one("#picker-list", OptionList)
        listing.clear_options()
        listing.add_options([Option(Text(o)) for o in self.found])
        if self.found:
            listing.highlighted = self.found.index(self.current) if self.current in self.found else 0
        count = (f"{len(self.found)} of {len(self.options)}" if self.found
                 else f"nothing matches '{typed.strip()}'")
        count += f"; Esc keeps {self.current}"
        self.query_one("#picker-count", Static).update(count)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.refilter()

    def action_move(self, step: int) -> None:
        listing = self.query_one("#picker-list", OptionList)
        if self.found:
            now = listing.highlighted if listing.highlighted is not None else 0
            listing.highlighted = max(0, min(len(self.found) - 1, now + step))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        highlighted = self.query_one("#picker-list", OptionList).highlighted
        if self.found and highlighted is not None:
            self.dismiss(self.found[highlighted])
        else:
            self.app.bell()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.found[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


class PickField(Choice):
    """A Choice over a long list: Enter, or typing, opens a searchable list (PickerScreen); Left/Right still step."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "search", "Search", key_display="enter")]

    def on_key(self, event: events.Key) -> None:
        if event.is_printable and event.character not in (None, " "):
            event.stop()
            self.search(event.character or "")

    def action_search(self) -> None:
        self.search("")

    def search(self, typed: str) -> None:
        self.app.push_screen(PickerScreen(self.label.strip(), self.options, self.value, typed), self._picked)

    def _picked(self, value: str | None) -> None:
        if value is not None and value != self.value:
            self.set_value(value)
            self.post_message(self.Changed(self, value))
