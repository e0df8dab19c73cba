"""The custom layout editor: partitions of each target disk, edited in place, checked by the engine.

Every edit goes straight into Choices.layouts; the bar, the rows and the engine's verdict are
redrawn after each one. Keys on the partition list: a adds, d removes, + and - resize by 1 GiB;
the form below edits the highlighted partition. A partition holds a filesystem, or is a member of a
RAID 1 array or a physical volume of an LVM volume group, named in the form; v (or RAID and LVM)
opens the arrays and volume groups those names make (ui/screens/stack_editor.py). Esc (or ctrl+n,
or Done) returns to Disks.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Input, OptionList, Static

from installer.api import DiskInfo, DiskPlan, Inventory
from profiles.model import Partition
from profiles.sizes import format_size
from ui import custom_layout as cl
from ui.layout_bar import draw, fill, free_space
from ui.screens.base import StepScreen
from ui.screens.stack_editor import StackEditorScreen
from ui.stack_layout import USES, Use, member_name, use_of, with_use
from ui.widgets import Choice, Plain, load_inputs, rebuild_rows

BAR_WIDTH = 78


def partition_row(index: int, disk_path: str, part: Partition, planned_size: int | None) -> str:
    size = format_size(planned_size if planned_size is not None else part.size)
    grow = "+rest" if part.grow else ""
    what = part.mount or cl.subvolumes_text(part.subvolumes) or "-"
    kind: str = part.filesystem
    label = f"  [{part.label}]" if part.label else ""
    if part.raid is not None:
        kind, what = "raid", f"md/{part.raid}"
    elif part.volume_group is not None:
        kind, what = "lvm", f"vg {part.volume_group}"
    return f"{fill(index)} {cl.device(disk_path, index + 1):<14} {size:>10} {grow:<5} {kind:<8} {what}{label}"


class PartitionList(OptionList):
    """The partitions of one disk; the keys act on the highlighted one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "screen.add", "Add", key_display="a"),
        Binding("d,delete", "screen.remove", "Remove", key_display="d"),
        Binding("plus", "screen.resize(1)", "+1GiB", key_display="+"),
        Binding("minus", "screen.resize(-1)", "-1GiB", key_display="-"),
    ]


class LayoutEditorScreen(StepScreen):
    AUTO_FOCUS = "#partitions"
    STEP = "Disks: custom layout"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+n", "next", "Done", key_display="ctrl+n"),
                                             Binding("v", "volumes", "RAID/LVM", key_display="v")]
    DEFAULT_CSS = """
    LayoutEditorScreen .form-row { height: 1; }
    LayoutEditorScreen .form-label { width: 16; color: ansi_cyan; }
    LayoutEditorScreen .form-row > Input { width: 1fr; }
    LayoutEditorScreen #label { width: 18; }
    LayoutEditorScreen #label-caption { width: 8; color: ansi_cyan; }
    LayoutEditorScreen #use { width: 52; }
    LayoutEditorScreen #member-caption { width: 7; color: ansi_cyan; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.disk_path = ""
        self.row = -1  # the partition the form shows
        self.form_errors: dict[str, str] = {}
        self.adopting: Partition | None = None  # the highlighted partition before it became a member

    # -- state -----------------------------------------------------------------------------
    @property
    def inventory(self) -> Inventory:
        return self.installer.inventory or Inventory()

    def targets(self) -> list[DiskInfo]:
        return self.installer.choices.targets(self.inventory)

    def disk(self) -> DiskInfo | None:
        return next((d for d in self.targets() if d.path == self.disk_path), None)

    def parts(self) -> list[Partition]:
        return self.installer.choices.disk_layout(self.disk_path, self.inventory) if self.disk_path else []

    def disk_plan(self) -> DiskPlan | None:
        return self.installer.api.layout(self.installer.choices.storage(self.inventory), self.inventory).disk(
            self.disk_path)

    # -- layout ----------------------------------------------------------------------------
    def body(self) -> ComposeResult:
        targets = self.targets()
        self.disk_path = targets[0].path if targets else ""
        yield Choice("Target disk", [f"{d.path} {format_size(d.size)}" for d in targets] or ["(none)"],
                     f"{targets[0].path} {format_size(targets[0].size)}" if targets else "(none)", id="disk")
        yield Plain("", id="bar", classes="bar")
        yield Plain("", id="summary", classes="note")
        yield PartitionList(id="partitions")
        with Horizontal(classes="form-row"):
            yield Plain("Size", classes="form-label")
            yield Input(id="size", placeholder="e.g. 20GiB or 512MiB")
        yield Choice("Fill the rest", ("no", "yes"), "no", id="grow")
        yield Choice("Filesystem", cl.PARTITION_FILESYSTEMS, "xfs", id="fs")
        with Horizontal(classes="form-row"):
            yield Plain("Mount point", classes="form-label")
            yield Input(id="mount", placeholder="/, /boot, /var ... (none for swap)")
            yield Plain("  Label", id="label-caption")
            yield Input(id="label")
        with Horizontal(classes="form-row"):
            yield Plain("Subvolumes", classes="form-label")
            yield Input(id="subvolumes", placeholder="btrfs only: root:/ home:/home")
        with Horizontal(classes="form-row"):
            yield Choice("Use as", tuple(USES.values()), USES["filesystem"], id="use")
            yield Plain("  Name", id="member-caption")
            yield Input(id="member", placeholder="array or group: boot, sys")
        with Horizontal(classes="buttons"):
            yield Button("Add partition", id="add")
            yield Button("Remove", id="remove")
            yield Button("RAID and LVM", id="volumes")
            yield Button("Done", id="done")

    def on_mount(self) -> None:
        self.select_row(0)

    def on_screen_resume(self) -> None:
        self.redraw()

    # -- drawing ---------------------------------------------------------------------------
    def redraw(self) -> None:
        disk, parts, plan = self.disk(), self.parts(), self.disk_plan()
        listing = self.query_one("#partitions", PartitionList)
        sizes: list[int | None] = [p.size for p in plan.partitions] if plan else [None] * len(parts)
        rows = [partition_row(i, self.disk_path, p, s) for i, (p, s) in enumerate(zip(parts, sizes, strict=True))]
        rebuild_rows(listing, rows, "(no partitions: press a to add one)", self.row)
        bar, summary = "", "No target disk: go back (Esc) and mark one with [E]."
        if disk is not None:
            bar = f"[{draw(disk.size, parts, plan, BAR_WIDTH - 2)}]"
            count = f"{len(parts)} partition{'s' if len(parts) != 1 else ''}"
            summary = f"{disk.path}: {format_size(disk.size)}, {count}, {free_space(disk.size, plan, parts)}"
        self.query_one("#bar", Static).update(bar)
        self.query_one("#summary", Static).update(summary)
        self.show_errors([*self.form_errors.values(), *self.validate()])

    def select_row(self, row: int) -> None:
        """Show partition row in the form."""
        parts = self.parts()
        new_row = max(0, min(row, len(parts) - 1)) if parts else -1
        if new_row != self.row:
            self.adopting = None
        self.row = new_row
        self.form_errors.clear()
        part = parts[self.row] if parts else None
        values = {
            "size": cl.size_text(part.size) if part else "",
            "mount": part.mount or "" if part else "",
            "label": part.label or "" if part else "",
            "subvolumes": cl.subvolumes_text(part.subvolumes) if part else "",
            "member": member_name(part) if part else "",
        }
        load_inputs(self, values)
        self.query_one("#grow", Choice).set_value("yes" if part and part.grow else "no")
        self.query_one("#fs", Choice).set_value(part.filesystem if part and part.filesystem != "none" else "xfs")
        self.query_one("#use", Choice).set_value(USES[use_of(part) if part else "filesystem"])
        self.redraw()

    # -- editing ---------------------------------------------------------------------------
    def update_part(self, **changes: object) -> None:
        parts = self.parts()
        if not 0 <= self.row < len(parts):
            return
        new = replace(parts[self.row], **changes)  # type: ignore[arg-type]
        if new != parts[self.row]:
            parts[self.row] = new
        self.redraw()

    def on_input_changed(self, event: Input.Changed) -> None:
        name = event.input.id or ""
        self.form_errors.pop(name, None)
        if name == "size":
            size, error = cl.parse_partition_size(event.value)
            if error:
                self.form_errors[name] = error
                self.redraw()
                return
            self.update_part(size=size)
        elif name in ("mount", "label"):
            self.update_part(**{name: event.value.strip() or None})
        elif name == "member":
            self.set_use(self.current_use(), event.value.strip())
        elif name == "subvolumes":
            subvolumes, error = cl.parse_subvolumes(event.value)
            if subvolumes is None:
                self.form_errors[name] = error or "subvolumes: not understood"
                self.redraw()
                return
            self.update_part(subvolumes=subvolumes)

    def current_use(self) -> Use:
        label = self.query_one("#use", Choice).value
        return next(use for use, text in USES.items() if text == label)

    def set_use(self, use: Use, name: str) -> None:
        """The highlighted partition as a filesystem, an array member or a physical volume; its array or
        group follows a rename (ui/stack_layout.py)."""
        parts = self.parts()
        if not 0 <= self.row < len(parts):
            return
        before = parts[self.row]
        if use_of(before) == "filesystem" and use != "filesystem":
            self.adopting = before  # what it held, for the array or group its name (typed next) makes
        parts[self.row] = with_use(before, use, name)
        stack = self.installer.choices.stack
        stack.sync(self.all_parts(), renamed=(member_name(before), name))
        if name and self.adopting is not None:
            stack.adopt(name, self.adopting)
        if use != use_of(before):
            self.select_row(self.row)  # the form shows what the partition holds now
        else:
            self.redraw()

    def all_parts(self) -> list[Partition]:
        return [p for d in self.targets() for p in self.installer.choices.disk_layout(d.path, self.inventory)]

    def on_choice_changed(self, event: Choice.Changed) -> None:
        if event.choice.id == "use":
            self.set_use(self.current_use(), self.query_one("#member", Input).value.strip())
        elif event.choice.id == "grow":
            self.update_part(grow=event.value == "yes")
        elif event.choice.id == "fs":
            self.update_part(filesystem=event.value)
        elif event.choice.id == "disk":
            self.disk_path, self.adopting = event.value.split()[0], None
            self.select_row(0)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # A redraw re-highlights the same row: only a move to another row reloads the form.
        if event.option_index != self.row and event.option_index < len(self.parts()):
            self.select_row(event.option_index)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {"add": self.action_add, "remove": self.action_remove, "volumes": self.action_volumes,
                   "done": self.action_back}
        actions[cast(str, event.button.id)]()

    def action_add(self) -> None:
        if not self.disk_path:
            return
        parts = self.parts()
        parts.insert(self.row + 1, cl.NEW_PARTITION)
        self.select_row(self.row + 1)

    def action_remove(self) -> None:
        parts = self.parts()
        if 0 <= self.row < len(parts):
            del parts[self.row]
            self.installer.choices.stack.sync(self.all_parts())
            self.select_row(self.row)

    def action_volumes(self) -> None:
        self.installer.choices.stack.sync(self.all_parts())
        self.app.push_screen(StackEditorScreen())

    def action_resize(self, steps: int) -> None:
        parts = self.parts()
        if 0 <= self.row < len(parts):
            parts[self.row] = cl.resized(parts[self.row], steps)
            self.select_row(self.row)

    # -- leaving ---------------------------------------------------------------------------
    def validate(self) -> list[str]:
        if not self.targets():
            return []
        return self.installer.choices.check_layout(self.installer.api, self.inventory)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_next(self) -> None:
        self.action_back()
