"""Disks: the probed disks, which to erase and which to keep, the automatic layout drawn to scale."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from profiles.sizes import format_size
from storage.inventory import DiskInfo
from storage.layout import LayoutError
from ui import glyphs
from ui.choices import FILESYSTEMS, FIRMWARES
from ui.screens.base import StepScreen
from ui.widgets import Choice, MarkList, Plain, layout_bar

BAR_WIDTH = 76


def disk_row(disk: DiskInfo, role: str) -> str:
    parts = f"{len(disk.partitions)} partition{'s' if len(disk.partitions) != 1 else ''}" if disk.partitions \
        else ("empty" if not disk.fstype else f"whole-disk {disk.fstype}")
    ro = " read-only" if disk.readonly else ""
    return (f"{glyphs.ROLE_MARK[role]} {disk.path:<13} {format_size(disk.size):>10}  {disk.model[:18]:<18} "
            f"{disk.serial[:14]:<14} {parts}{ro}")


def partition_lines(disk: DiskInfo) -> list[str]:
    if not disk.partitions:
        return [f"    {disk.path}: no partitions" + (f"; holds {disk.fstype}" if disk.fstype else "")]
    return [f"    {p.number:>2}  {format_size(p.size):>10}  {p.fstype or 'no filesystem':<14} {p.label or ''}"
            for p in disk.partitions[:3]] + ([f"    ... and {len(disk.partitions) - 3} more"]
                                              if len(disk.partitions) > 3 else [])


class DisksScreen(StepScreen):
    AUTO_FOCUS = "#disks"  # set before the first key is read, unlike focus() in on_mount
    STEP = "Disks"

    def body(self) -> ComposeResult:
        c = self.installer.choices
        yield Plain("Space cycles a disk: [ ] not used, [E] ERASE and install here, [K] keep untouched.",
                     classes="note")
        yield MarkList(self.rows, id="disks")
        yield Plain("", id="parts", classes="parts")
        if c.explicit_layout():
            yield Plain("Layout: the profile's explicit partitions (kept as written).", classes="note")
        else:
            yield Choice("Root filesystem", FILESYSTEMS, c.filesystem, id="filesystem")
            yield Choice("Firmware", FIRMWARES, c.firmware, id="firmware")
        yield Plain("", id="bar", classes="bar")
        yield Plain("", id="legend", classes="legend")
        yield Plain("Custom layouts (your own partitions) are not editable here in this version: "
                     "write storage.partitions in a profile and start with --profile.", classes="note")

    def rows(self) -> list[str]:
        inventory = self.installer.inventory
        if inventory is None:
            return [self.installer.probe_text() or "probing disks ..."]
        if not inventory.disks:
            return ["no disks found"]
        return [disk_row(d, self.installer.choices.role(d.path)) for d in inventory.disks]

    def on_mount(self) -> None:
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
        inventory = self.installer.inventory
        bar, legend, errors = "", list[str](), list[str]()
        if inventory is not None and self.installer.choices.targets(inventory):
            try:
                layout = self.installer.choices.layout(inventory)
                bar, legend = layout_bar(layout.targets[0], BAR_WIDTH)
                bar = f"[{bar}]"
            except LayoutError as err:
                errors = [str(err)]
        self.query_one("#bar", Static).update(bar)
        self.query_one("#legend", Static).update("\n".join(legend))
        self.show_errors(errors)

    def on_mark_list_toggled(self, event: MarkList.Toggled) -> None:
        inventory = self.installer.inventory
        if inventory is None or event.index >= len(inventory.disks):
            return
        self.installer.choices.cycle_role(inventory.disks[event.index])
        event.marklist.rebuild()
        self.refresh_all()

    def on_choice_changed(self, event: Choice.Changed) -> None:
        c = self.installer.choices
        if event.choice.id == "filesystem":
            c.filesystem = event.value  # type: ignore[assignment]
        else:
            c.firmware = event.value  # type: ignore[assignment]
        self.refresh_all()

    def validate(self) -> list[str]:
        inventory = self.installer.inventory
        if inventory is None:
            return ["the disks are still being probed; wait a moment"]
        return self.installer.choices.check_disks(inventory)
