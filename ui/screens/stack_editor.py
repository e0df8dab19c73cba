"""The arrays and volume groups of the custom layout: RAID 1 arrays and LVM logical volumes, checked by the engine.

The layout editor's partitions name them (Use as: RAID 1 or LVM, and a name); this
screen lists what those names make, each array with its members and each volume group with its
physical volumes and logical volumes, and edits the highlighted one in the form below (only the
fields that apply to it are shown): an array's
filesystem, mount point and label, or that it is a physical volume of a group; a group's encryption;
a logical volume's name, size, growth, filesystem and mount point. On a group or a logical volume,
a adds a logical volume and d removes one. The engine's verdict (profiles/stack_checks.py, through
Choices.check_layout) is shown below after every edit. Esc (or Done) returns to the partitions.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Input, OptionList, Static

from installer.api import Inventory
from profiles.model import Filesystem, Partition
from ui import custom_layout as cl
from ui import stack_layout as sl
from ui.screens.base import StepScreen
from ui.widgets import Choice, Plain, load_inputs, rebuild_rows

NOT_IN_A_GROUP = "(none)"


class VolumeList(OptionList):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "screen.add", "Add volume", key_display="a"),
        Binding("d,delete", "screen.remove", "Remove volume", key_display="d"),
    ]


class StackEditorScreen(StepScreen):
    AUTO_FOCUS = "#volumes"
    STEP = "Disks: RAID and LVM"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+n", "next", "Done", key_display="ctrl+n")]
    DEFAULT_CSS = """
    StackEditorScreen .form-row { height: 1; }
    StackEditorScreen .form-label { width: 16; color: ansi_cyan; }
    StackEditorScreen .form-row > Input { width: 1fr; }
    StackEditorScreen #volumes { height: 8; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.row = 0
        self.form_errors: dict[str, str] = {}

    # -- state -----------------------------------------------------------------------------
    @property
    def stack(self) -> sl.Stack:
        return self.installer.choices.stack

    @property
    def inventory(self) -> Inventory:
        return self.installer.inventory or Inventory()

    def partitions(self) -> list[tuple[str, Partition]]:
        choices = self.installer.choices
        return [(cl.device(d.path, n), p) for d in choices.targets(self.inventory)
                for n, p in enumerate(choices.disk_layout(d.path, self.inventory), start=1)]

    def rows(self) -> list[sl.Row]:
        return sl.rows(self.stack)

    def current(self) -> sl.Row | None:
        rows = self.rows()
        return rows[self.row] if 0 <= self.row < len(rows) else None

    # -- layout ----------------------------------------------------------------------------
    def body(self) -> ComposeResult:
        yield Plain("", id="summary", classes="note")
        yield VolumeList(id="volumes")
        with Horizontal(classes="form-row"):
            yield Plain("Name", classes="form-label")
            yield Input(id="name", placeholder="a logical volume's name, e.g. root")
        with Horizontal(classes="form-row"):
            yield Plain("Size", classes="form-label")
            yield Input(id="size", placeholder="e.g. 20GiB, or 50% of the group")
        yield Choice("Fill the rest", ("no", "yes"), "no", id="grow")
        yield Choice("Filesystem", sl.VOLUME_FILESYSTEMS, "xfs", id="fs")
        with Horizontal(classes="form-row"):
            yield Plain("Mount point", classes="form-label")
            yield Input(id="mount", placeholder="/, /boot, /var ... (none for swap)")
        yield Choice("Volume group", (NOT_IN_A_GROUP,), NOT_IN_A_GROUP, id="group")
        yield Choice("Encrypted", ("no", "yes"), "no", id="encrypted")
        with Horizontal(classes="buttons"):
            yield Button("Add volume", id="add")
            yield Button("Remove", id="remove")
            yield Button("Done", id="done")

    def on_mount(self) -> None:
        self.select_row(0)

    # -- drawing ---------------------------------------------------------------------------
    def redraw(self) -> None:
        members = self.stack.members(self.partitions())
        listing = self.query_one("#volumes", VolumeList)
        rows = self.rows()
        rebuild_rows(listing, [sl.row_text(self.stack, r, members) for r in rows],
                     "(none: in the partition editor, use a partition as a RAID 1 member or LVM volume)", self.row)
        self.query_one("#summary", Static).update(
            f"{len(self.stack.raids)} RAID 1 array{'s' if len(self.stack.raids) != 1 else ''}, "
            f"{len(self.stack.groups)} volume group{'s' if len(self.stack.groups) != 1 else ''}; "
            "the highlighted one below")
        self.show_errors([*self.form_errors.values(), *self.validate()])

    def select_row(self, row: int) -> None:
        """Show the row in the form; fields that do not apply to it are emptied and ignored."""
        rows = self.rows()
        self.row = max(0, min(row, len(rows) - 1)) if rows else -1
        self.form_errors.clear()
        current = self.current()
        name = size = mount = ""
        grow, filesystem, group, encrypted = "no", "xfs", NOT_IN_A_GROUP, "no"
        if current is not None and current.kind == "raid":
            raid = self.stack.raids[current.index]
            mount, group = raid.mount or "", raid.volume_group or NOT_IN_A_GROUP
            filesystem = raid.filesystem if raid.filesystem != "none" else "xfs"
        elif current is not None and current.kind == "group":
            encrypted = "yes" if self.stack.groups[current.index].encrypted else "no"
        elif current is not None:
            volume = self.stack.groups[current.index].logical_volumes[current.volume]
            name, mount, filesystem = volume.name, volume.mount or "", volume.filesystem
            size = (f"{volume.percent}%" if volume.percent is not None
                    else cl.size_text(volume.size) if volume.size is not None else "")
            grow = "yes" if volume.grow else "no"
        kind = current.kind if current is not None else ""
        shown = {"raid": {"fs", "mount", "group"}, "group": {"encrypted"},
                 "volume": {"name", "size", "grow", "fs", "mount"}}.get(kind, set())
        for widget in ("name", "size", "grow", "fs", "mount", "group", "encrypted"):
            # an Input sits in a row with its caption; a Choice is its own row
            node = self.query_one(f"#{widget}")
            (node.parent if isinstance(node, Input) and node.parent is not None else node).display = widget in shown
        load_inputs(self, {"name": name, "size": size, "mount": mount})
        groups = self.query_one("#group", Choice)
        groups.options = [NOT_IN_A_GROUP, *(g.name for g in self.stack.groups)]
        groups.set_value(group)
        self.query_one("#grow", Choice).set_value(grow)
        self.query_one("#fs", Choice).set_value(filesystem)
        self.query_one("#encrypted", Choice).set_value(encrypted)
        self.redraw()

    # -- editing ---------------------------------------------------------------------------
    def edit(self, field: str, value: object) -> None:
        """Write one form field into the highlighted array, group or logical volume (if it has that field)."""
        current = self.current()
        if current is None:
            return
        if current.kind == "raid" and field in ("mount", "filesystem", "volume_group"):
            raids = self.stack.raids
            changes: dict[str, object] = {field: value}
            if field == "volume_group":  # an array in a group holds no filesystem of its own
                changes |= {"filesystem": "none", "mount": None} if value else {"filesystem": "ext4"}
            raids[current.index] = replace(raids[current.index], **changes)  # type: ignore[arg-type]
        elif current.kind == "group" and field == "encrypted":
            groups = self.stack.groups
            groups[current.index] = replace(groups[current.index], encrypted=bool(value))
        elif current.kind == "volume" and field in ("name", "size", "percent", "grow", "mount", "filesystem"):
            group = self.stack.groups[current.index]
            volumes = list(group.logical_volumes)
            volumes[current.volume] = replace(volumes[current.volume], **{field: value})  # type: ignore[arg-type]
            self.stack.groups[current.index] = replace(group, logical_volumes=tuple(volumes))
        self.redraw()

    def on_input_changed(self, event: Input.Changed) -> None:
        field = event.input.id or ""
        self.form_errors.pop(field, None)
        text = event.value.strip()
        if field == "size":
            current = self.current()
            if current is None or current.kind != "volume":
                return
            if text.endswith("%"):
                number = text[:-1].strip()
                if not number.isdigit():
                    self.form_errors[field] = f"size: '{text}' is not a percentage such as 50%"
                    self.redraw()
                    return
                self.edit("size", None)
                self.edit("percent", int(number))
                return
            size, error = cl.parse_partition_size(text) if text else (None, None)
            if error:
                self.form_errors[field] = error
                self.redraw()
                return
            self.edit("percent", None)
            self.edit("size", size)
        elif field in ("name", "mount"):
            current = self.current()
            if field == "name" and (current is None or current.kind != "volume"):
                return
            self.edit(field, text or None if field == "mount" else text)

    def on_choice_changed(self, event: Choice.Changed) -> None:
        field = event.choice.id or ""
        if field == "grow":
            self.edit("grow", event.value == "yes")
        elif field == "fs":
            self.edit("filesystem", cast(Filesystem, event.value))
        elif field == "group":
            self.edit("volume_group", None if event.value == NOT_IN_A_GROUP else event.value)
            self.stack.sync(p for _, p in self.partitions())
            self.select_row(self.row)
        elif field == "encrypted":
            self.edit("encrypted", event.value == "yes")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index != self.row and event.option_index < len(self.rows()):
            self.select_row(event.option_index)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {"add": self.action_add, "remove": self.action_remove, "done": self.action_back}
        actions[cast(str, event.button.id)]()

    def action_add(self) -> None:
        """A new logical volume in the highlighted group (or the one of the highlighted volume)."""
        current = self.current()
        if current is None or current.kind == "raid":
            self.show_errors(["highlight a volume group (vg ...) to add a logical volume to it"])
            return
        group = self.stack.groups[current.index]
        self.stack.groups[current.index] = replace(
            group, logical_volumes=(*group.logical_volumes, sl.new_volume(group)))
        added = next(i for i, r in enumerate(self.rows())
                     if r.kind == "volume" and r.index == current.index and r.volume == len(group.logical_volumes))
        self.select_row(added)

    def action_remove(self) -> None:
        current = self.current()
        if current is None or current.kind != "volume":
            self.show_errors(["highlight a logical volume to remove it (arrays and groups follow the partitions)"])
            return
        group = self.stack.groups[current.index]
        volumes = [v for i, v in enumerate(group.logical_volumes) if i != current.volume]
        self.stack.groups[current.index] = replace(group, logical_volumes=tuple(volumes))
        self.select_row(self.row - 1)

    # -- leaving ---------------------------------------------------------------------------
    def validate(self) -> list[str]:
        if not self.installer.choices.targets(self.inventory):
            return []
        return self.installer.choices.check_layout(self.installer.api, self.inventory)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_next(self) -> None:
        self.action_back()
