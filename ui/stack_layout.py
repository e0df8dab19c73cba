"""RAID 1 arrays and LVM volume groups of the custom layout, as the editor keeps them.

A partition joins an array or a volume group by name (Partition.raid, Partition.volume_group), as in
a profile. The UI keeps one list of arrays and one of volume groups; sync() makes them follow the
partitions: a name a partition gives for the first time gets an array (RAID 1) or an empty volume
group, a name no partition uses any more is dropped, and renaming the only user of a name renames
its array or group, so its settings and logical volumes go with it. Nothing here decides what is
valid: the engine's checks (profiles/stack_checks.py) do, through Choices.check_layout.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from profiles.model import Filesystem, LogicalVolume, Partition, RaidArray, VolumeGroup
from profiles.sizes import GiB, format_size

Use = Literal["filesystem", "raid", "lvm"]
USES: dict[Use, str] = {"filesystem": "filesystem", "raid": "RAID 1", "lvm": "LVM"}
# What an array or a logical volume can hold (no ESP, BIOS boot partition or swap on an array).
ARRAY_FILESYSTEMS: tuple[Filesystem, ...] = ("xfs", "ext4", "btrfs")
VOLUME_FILESYSTEMS: tuple[Filesystem, ...] = ("xfs", "ext4", "btrfs", "swap")
NEW_VOLUME_SIZE = 10 * GiB


def use_of(part: Partition) -> Use:
    return "raid" if part.raid is not None else "lvm" if part.volume_group is not None else "filesystem"


def member_name(part: Partition) -> str:
    return part.raid or part.volume_group or ""


def with_use(part: Partition, use: Use, name: str) -> Partition:
    """The partition as a plain filesystem, an array member or a physical volume of name (which may be
    empty while it is typed: the engine names that)."""
    if use == "filesystem":
        filesystem = part.filesystem if part.filesystem != "none" else "xfs"
        return replace(part, raid=None, volume_group=None, filesystem=filesystem)
    return replace(part, raid=name if use == "raid" else None, volume_group=name if use == "lvm" else None,
                   filesystem="none", mount=None, label=None, subvolumes=())


@dataclass
class Stack:
    """The layout's arrays and volume groups, in the order they were first named."""

    raids: list[RaidArray]
    groups: list[VolumeGroup]

    def sync(self, partitions: Iterable[Partition], renamed: tuple[str, str] | None = None) -> None:
        """Follow the partitions' names (renamed: (old, new) when a partition's name was just edited)."""
        parts = list(partitions)
        if renamed is not None:
            self._rename(parts, *renamed)
        raid_names = list(dict.fromkeys(p.raid for p in parts if p.raid))
        group_names = list(dict.fromkeys(p.volume_group for p in parts if p.volume_group))
        # An array can itself be a physical volume: its group is in use as long as the array is.
        group_names += [r.volume_group for r in self.raids if r.name in raid_names and r.volume_group
                        and r.volume_group not in group_names]
        known_raids = {r.name: r for r in self.raids}
        known_groups = {g.name: g for g in self.groups}
        self.raids = [known_raids.get(n) or RaidArray(name=n, level=1, filesystem="ext4") for n in raid_names]
        self.groups = [known_groups.get(n) or VolumeGroup(name=n) for n in group_names]

    def _rename(self, parts: list[Partition], old: str, new: str) -> None:
        """The partition's old name is used by nobody else now: its array or group takes the new name."""
        if not old or not new or old == new:
            return
        still = any(p.raid == old or p.volume_group == old for p in parts)
        if still:
            return
        if not any(r.name == new for r in self.raids):
            self.raids = [replace(r, name=new) if r.name == old else r for r in self.raids]
        if not any(g.name == new for g in self.groups):
            self.groups = [replace(g, name=new) if g.name == old else g for g in self.groups]

    def adopt(self, name: str, part: Partition) -> None:
        """A partition that held a filesystem just became the first member of name: the new array takes its
        filesystem, mount point and label, or the new volume group gets one logical volume growing with
        them (/ as root, /var as var), so turning /boot into a mirror or / into LVM keeps what it was for."""
        if part.mount is None or part.filesystem not in VOLUME_FILESYSTEMS:
            return
        for i, raid in enumerate(self.raids):
            if raid.name == name and raid.mount is None and part.filesystem in ARRAY_FILESYSTEMS:
                self.raids[i] = replace(raid, filesystem=part.filesystem, mount=part.mount, label=part.label)
        for i, group in enumerate(self.groups):
            if group.name == name and not group.logical_volumes:
                volume = part.mount.strip("/").replace("/", "_") or "root"
                self.groups[i] = replace(group, logical_volumes=(LogicalVolume(
                    name=volume, grow=True, mount=part.mount, filesystem=part.filesystem, label=part.label),))

    def members(self, partitions: Iterable[tuple[str, Partition]]) -> dict[str, list[str]]:
        """array or group name -> the devices that are its members, from (device, partition) pairs."""
        found: dict[str, list[str]] = {}
        for dev, part in partitions:
            name = member_name(part)
            if name:
                found.setdefault(name, []).append(dev)
        for raid in self.raids:
            if raid.volume_group:
                found.setdefault(raid.volume_group, []).append(f"md/{raid.name}")
        return found


@dataclass(frozen=True)
class Row:
    """One line of the volume list: an array, a volume group, or a logical volume (group and index)."""

    kind: Literal["raid", "group", "volume"]
    index: int  # into Stack.raids or Stack.groups
    volume: int = -1  # into the group's logical_volumes


def rows(stack: Stack) -> list[Row]:
    found = [Row("raid", i) for i in range(len(stack.raids))]
    for i, group in enumerate(stack.groups):
        found.append(Row("group", i))
        found += [Row("volume", i, v) for v in range(len(group.logical_volumes))]
    return found


def row_text(stack: Stack, row: Row, members: dict[str, list[str]]) -> str:
    if row.kind == "raid":
        raid = stack.raids[row.index]
        holds = f"-> {raid.volume_group}" if raid.volume_group else f"{raid.filesystem:<6} {raid.mount or '-'}"
        return f"md/{raid.name:<10} RAID {raid.level}  {' '.join(members.get(raid.name, [])):<24} {holds}"
    group = stack.groups[row.index]
    if row.kind == "group":
        lock = "  encrypted" if group.encrypted else ""
        return f"vg {group.name:<11} on {' '.join(members.get(group.name, [])) or '(nothing yet)'}{lock}"
    volume = group.logical_volumes[row.volume]
    size = (f"{volume.percent}%" if volume.percent is not None
            else format_size(volume.size) if volume.size is not None else "")
    grow = "+rest" if volume.grow else ""
    return f"   {group.name}/{volume.name:<14} {size:>10} {grow:<5} {volume.filesystem:<6} {volume.mount or '-'}"


def new_volume(group: VolumeGroup) -> LogicalVolume:
    """A logical volume with a name the group does not have yet (lv1, lv2, ...)."""
    taken = {v.name for v in group.logical_volumes}
    number = next(n for n in range(1, len(taken) + 2) if f"lv{n}" not in taken)
    return LogicalVolume(name=f"lv{number}", size=NEW_VOLUME_SIZE)
