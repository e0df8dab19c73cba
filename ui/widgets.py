"""Small console-safe widgets: state by ASCII mark, never by colour alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.scrollbar import ScrollBarRender
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from installer.api import DiskPlan
from profiles.sizes import format_size
from ui import glyphs


class SafeScrollBarRender(ScrollBarRender):
    """Scroll bars in whole cells: the console font has no eighth blocks."""

    VERTICAL_BARS: ClassVar[list[str]] = [glyphs.FULL] * 7 + [" "]
    HORIZONTAL_BARS: ClassVar[list[str]] = [glyphs.FULL] * 7 + [" "]


class Plain(Static):
    """A Static that shows its text as is: '[E]' and '[x]' are marks here, not markup."""

    def __init__(self, content: str = "", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(content, id=id, classes=classes, markup=False)


class SecretInput(Input):
    """An Input for passwords that masks with '*' (the console has no bullet glyph)."""

    def __init__(self, *, placeholder: str = "", id: str | None = None) -> None:
        super().__init__(placeholder=placeholder, password=True, id=id)

    @property
    def _value(self) -> Text:
        return Text("*" * len(self.value), no_wrap=True, overflow="ignore", end="")


class Choice(Widget, can_focus=True):
    """One value out of a few: Left/Right or Space change it. Drawn as (*) a ( ) b, or < a > for long lists."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1)", "Change", key_display="<-", show=False),
        Binding("right,space", "move(1)", "Change", key_display="->/space"),
    ]

    class Changed(Message):
        def __init__(self, choice: Choice, value: str) -> None:
            super().__init__()
            self.choice = choice
            self.value = value

    def __init__(self, label: str, options: Sequence[str], value: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label
        self.options = list(options) if value in options else [value, *options]
        self.index = self.options.index(value)

    @property
    def value(self) -> str:
        return self.options[self.index]

    def set_value(self, value: str) -> None:
        if value not in self.options:
            self.options.insert(0, value)
        self.index = self.options.index(value)
        self.refresh()

    def render(self) -> str:
        if len(self.options) <= 4:
            marks = "  ".join(f"{glyphs.SELECTED if i == self.index else glyphs.UNSELECTED} {o}"
                              for i, o in enumerate(self.options))
        else:
            marks = f"< {self.value} >  ({self.index + 1} of {len(self.options)})"
        return f"{self.label:<16}{marks}"

    def action_move(self, step: int) -> None:
        self.index = (self.index + step) % len(self.options)
        self.refresh()
        self.post_message(self.Changed(self, self.value))


class MarkList(OptionList):
    """A list whose rows carry an ASCII mark; Space or Enter toggles the highlighted row."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("space", "toggle_mark", "Toggle", key_display="space")]

    class Toggled(Message):
        def __init__(self, marklist: MarkList, index: int) -> None:
            super().__init__()
            self.marklist = marklist
            self.index = index

    def __init__(self, rows: Callable[[], list[str]], *, id: str | None = None) -> None:
        self._rows = rows
        super().__init__(*[Option(Text(r)) for r in rows()], id=id)

    def rebuild(self) -> None:
        highlighted = self.highlighted
        self.clear_options()
        self.add_options([Option(Text(r)) for r in self._rows()])
        if highlighted is not None and self.option_count:
            self.highlighted = min(highlighted, self.option_count - 1)

    def action_toggle_mark(self) -> None:
        if self.highlighted is not None:
            self.post_message(self.Toggled(self, self.highlighted))

    def _on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Toggled(self, event.option_index))


class ProgressLine(Plain):
    """label [█████.....]  42%: a bar from the safe glyphs."""

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label
        self.set_fraction(0.0)

    def set_fraction(self, fraction: float, note: str = "") -> None:
        self.fraction = fraction
        self.update(f"{self.label:<9}[{glyphs.bar(fraction, 40)}] {fraction * 100:3.0f}% {note[:18]}")


def layout_bar(plan: DiskPlan, width: int) -> tuple[str, list[str]]:
    """The partitions drawn to scale in width cells (each at least one), and a legend line each."""
    parts = plan.partitions
    total = plan.disk.size or 1
    cells = [max(1, round(p.size / total * width)) for p in parts]
    while sum(cells) > width and max(cells) > 1:
        cells[cells.index(max(cells))] -= 1
    bar, legend = "", []
    for i, (part, n) in enumerate(zip(parts, cells, strict=True)):
        fill = glyphs.SEGMENT_FILLS[i % len(glyphs.SEGMENT_FILLS)]
        bar += fill * n
        what = part.mount or ", ".join(s.mount for s in part.subvolumes) or "-"
        legend.append(f"{fill} {part.device(plan.disk.path):<14} {format_size(part.size):>10}  "
                      f"{part.filesystem:<8} {what}")
    return bar + " " * (width - len(bar)), legend


def load_inputs(screen: Widget, values: dict[str, str]) -> None:
    """Show values in the inputs of these ids without it counting as typing: their Changed events would
    arrive after a quick next move and be taken as edits of whatever the form shows by then (on a real
    terminal the layout editor once copied rows into each other that way, back and forth)."""
    for name, value in values.items():
        field = screen.query_one(f"#{name}", Input)
        with field.prevent(Input.Changed):
            field.value = value


def rebuild_rows(listing: OptionList, rows: list[str], empty: str, highlighted: int) -> None:
    """Replace a list's rows and highlight one again; that is no move by the user (no Highlighted event, which
    would load a row into the form again, possibly a stale one)."""
    with listing.prevent(OptionList.OptionHighlighted):
        listing.clear_options()
        listing.add_options([Option(Text(r)) for r in rows] or [Option(Text(empty))])
        if rows:
            listing.highlighted = max(0, min(highlighted, len(rows) - 1))
