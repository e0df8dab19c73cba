"""Disks: the probed disks, which to erase and which to keep, the layout drawn to scale.

The layout is automatic (root filesystem and firmware chosen here) or custom: the editor
(ui/screens/layout_editor.py, key e or the Edit button) sets partitions per target disk.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Static

from installer.api import DiskInfo
from profiles.sizes import format_size
from ui import custom_layout, glyphs
from ui.choices import FILESYSTEMS, FIRMWARES
from ui.layout_bar import draw, partition_lines
from ui.screens.base import StepScreen
from ui.screens.layout_editor import LayoutEditorScreen
from ui.widgets import Choice, MarkList, Plain, layout_bar

BAR_WIDTH = 76
LAYOUTS = ("automatic", "custom")
MAX_LEGEND = 5


def disk_row(disk: DiskInfo, role: str) -> str:
    parts = f"{len(disk.partitions)} partition{'s' if len(disk.partitions) != 1 else ''}" if disk.partitions \
        else ("empty" if not disk.fstype else f"whole-disk {disk.fstype}")
    ro = " read-only" if disk.readonly else ""
    return (f"{glyphs.ROLE_MARK[role]} {disk.path:<13} {format_size(disk.size):>10}  {disk.model[:18]:<18} "
            f"{disk.serial[:14]:<14} {parts}{ro}")


class DisksScreen(StepScreen):
    AUTO_FOCUS = "#disks"  # set before the first key is read, unlike focus() in on_mount
    STEP = "Disks"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("e", "edit_layout", "Edit layout", key_display="e")]

    def body(self) -> ComposeResult:
        c = self.installer.choices
        yield Plain("Space cycles a disk: [ ] not used, [E] ERASE and install here, [K] keep untouched.",
                    classes="note")
        yield MarkList(self.rows, id="disks")
        yield Plain("", id="parts", classes="parts")
        yield Choice("Root filesystem", FILESYSTEMS, c.filesystem, id="filesystem")
        yield Choice("Firmware", FIRMWARES, c.firmware, id="firmware")
        # After the automatic layout's choices, so Tab reaches those first (as before the editor existed).
        yield Choice("Layout", LAYOUTS, "custom" if c.custom else "automatic", id="layout")
        with Horizontal(classes="buttons", id="custom-row"):
            yield Button("Edit partitions", id="edit")
            yield Plain("  (or e) several [E] disks are fine with a custom layout", classes="note")
        yield Plain("", id="bar", classes="bar")
        yield Plain("", id="legend", classes="legend")

    def rows(self) -> list[str]:
        inventory = self.installer.inventory
        if inventory is None:
            return [self.installer.probe_text() or "probing disks ..."]
        if not inventory.disks:
            return ["no disks found"]
        return [disk_row(d, self.installer.choices.role(d.path)) for d in inventory.disks]

    def on_mount(self) -> None:
        self.refresh_all()

    def on_screen_resume(self) -> None:
        self.query_one("#disks", MarkList).rebuild()
        self.refresh_all()

    def inventory_changed(self) -> None:
        self.query_one("#disks", MarkList).rebuild()
        self.refresh_all()

    def on_option_list_option_highlighted(self) -> None:
        self.refresh_parts()

    def refresh_parts(self) -> None:
        inventory = self.installer.inventory
        index = self.query_one("#disks", MarkList).highlighted
        lines: list[str] = []
        if inventory is not None and index is not None and index < len(inventory.disks):
            lines = partition_lines(inventory.disks[index])
        self.query_one("#parts", Static).update("\n".join(lines))

    def refresh_all(self) -> None:
        self.refresh_parts()
        c = self.installer.choices
        for widget_id in ("#filesystem", "#firmware"):
            self.query_one(widget_id).display = not c.custom
        self.query_one("#custom-row").display = c.custom
        inventory = self.installer.inventory
        bar, legend, errors = "", list[str](), list[str]()
        if inventory is not None and c.targets(inventory):
            if c.custom:
                bar, legend, errors = self.custom_summary()
            else:
                preview = self.installer.api.layout(c.storage(inventory), inventory)
                if preview.plan is not None:
                    bar, legend = layout_bar(preview.plan.targets[0], BAR_WIDTH)
                    bar = f"[{bar}]"
                elif preview.problem is not None:
                    errors = [str(preview.problem)]
        self.query_one("#bar", Static).update(bar)
        self.query_one("#legend", Static).update("\n".join(legend))
        self.show_errors(errors)

    def custom_summary(self) -> tuple[str, list[str], list[str]]:
        """A bar per target disk and the engine's verdict; the editor has the details."""
        c, inventory = self.installer.choices, self.installer.inventory
        assert inventory is not None
        preview = self.installer.api.layout(c.storage(inventory), inventory)
        bars, legend = [], []
        for target in c.targets(inventory):
            parts = c.disk_layout(target.path, inventory)
            disk_plan = preview.disk(target.path)
            bars.append(f"{target.path:<12}[{draw(target.size, parts, disk_plan, BAR_WIDTH - 12)}]")
            mounts = ", ".join(p.mount or custom_layout.subvolumes_text(p.subvolumes) or p.filesystem for p in parts)
            legend.append(f"  {len(parts)} partition{'s' if len(parts) != 1 else ''}: {mounts or '-'}"[:78])
        lines = [line for pair in zip(bars, legend, strict=True) for line in pair]
        return lines[0], lines[1:MAX_LEGEND], c.check_layout(self.installer.api, inventory)

    def on_mark_list_toggled(self, event: MarkList.Toggled) -> None:
        inventory = self.installer.inventory
        if inventory is None or event.index >= len(inventory.disks):
            return
        self.installer.choices.cycle_role(inventory.disks[event.index])
        event.marklist.rebuild()
        self.refresh_all()

    def on_choice_changed(self, event: Choice.Changed) -> None:
        c = self.installer.choices
        if event.choice.id == "layout":
            inventory = self.installer.inventory
            c.set_custom(event.value == "custom", inventory) if inventory else setattr(
                c, "custom", event.value == "custom")
            if inventory is not None:
                self.query_one("#disks", MarkList).rebuild()
        elif event.choice.id == "filesystem":
            c.filesystem = event.value  # type: ignore[assignment]
        else:
            c.firmware = event.value  # type: ignore[assignment]
        self.refresh_all()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "edit":
            self.action_edit_layout()

    def action_edit_layout(self) -> None:
        c, inventory = self.installer.choices, self.installer.inventory
        if inventory is None:
            self.show_errors(["the disks are still being probed; wait a moment"])
            return
        if not c.custom:
            c.set_custom(True, inventory)
            self.query_one("#layout", Choice).set_value("custom")
            self.refresh_all()
        if not c.targets(inventory):
            self.show_errors(["choose a target disk first: highlight it and press Space until it shows [E]"])
            return
        self.app.push_screen(LayoutEditorScreen())

    def validate(self) -> list[str]:
        inventory = self.installer.inventory
        if inventory is None:
            return ["the disks are still being probed; wait a moment"]
        return self.installer.choices.check_disks(self.installer.api, inventory)
