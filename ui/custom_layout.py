"""The custom layout: partitions per target disk, and the engine's verdict named the way the user knows it.

The UI keeps one list of profile Partitions per target disk (keyed by its path, so a disk keeps its
layout while the user changes roles). storage_partitions() flattens them into the profile's
storage.partitions; storage_problems() asks the engine (installer.api: the profile checks, the
planner, the plan's blockers) and names each problem's place from its key path alone: a partition
by its device (/dev/vda3), its related places too. Nothing here decides what is valid, and no
message text is read or rewritten.
"""

from __future__ import annotations

import re
from dataclasses import replace

from installer.api import DiskInfo, InstallerAPI, Inventory, Problem, automatic_partitions, partition_device
from profiles.convert import path_text
from profiles.model import AutoLayout, Filesystem, Partition, Profile, Subvolume
from profiles.sizes import GiB, KiB, MiB, SizeError, parse_size
from profiles.source import KeyPath

# What storage.apply can create (vfat only as the ESP; biosboot and swap carry no mount point).
PARTITION_FILESYSTEMS: tuple[Filesystem, ...] = ("xfs", "ext4", "btrfs", "vfat", "swap", "biosboot")
NEW_PARTITION = Partition(size=10 * GiB, filesystem="xfs")
RESIZE_STEP = GiB
_SUBVOLUME = re.compile(r"^([A-Za-z0-9@._-]+):(/\S*)$")


def seed(auto: AutoLayout, first: bool) -> list[Partition]:
    """Where editing starts: the automatic layout on the first disk, nothing on the others."""
    return automatic_partitions(auto) if first else []


def storage_partitions(targets: list[DiskInfo], layouts: dict[str, list[Partition]]) -> tuple[Partition, ...]:
    """The profile's storage.partitions: each disk's list with disk set to its index in storage.disks."""
    return tuple(replace(p, disk=i) for i, d in enumerate(targets) for p in layouts.get(d.path, []))


def device(disk_path: str, number: int) -> str:
    return partition_device(disk_path, number)


class Places:
    """Names key paths of storage.partitions by device, from the layouts the profile was built from."""

    def __init__(self, targets: list[DiskInfo], layouts: dict[str, list[Partition]],
                 profile: Profile | None = None) -> None:
        self.profile = profile  # the checked profile: its arrays and volume groups by name
        self.disks = [d.path for d in targets]  # storage.disks[i] is targets[i]
        # storage.partitions[i] is partition number n of disk d, in storage_partitions()' order.
        self.owners = [(d.path, n) for d in targets for n in range(1, len(layouts.get(d.path, [])) + 1)]

    def stacked(self, path: KeyPath) -> str | None:
        """An array (md/boot) or a logical volume (sys/root) or a volume group (vg sys), by its name."""
        storage = self.profile.storage if self.profile is not None else None
        if storage is None or len(path) < 3 or path[0] != "storage" or not isinstance(path[2], int):
            return None
        if path[1] == "raids" and path[2] < len(storage.raids):
            return f"md/{storage.raids[path[2]].name}"
        if path[1] != "volume_groups" or path[2] >= len(storage.volume_groups):
            return None
        group = storage.volume_groups[path[2]]
        if len(path) >= 5 and path[3] == "logical_volumes" and isinstance(path[4], int) \
                and path[4] < len(group.logical_volumes):
            return f"{group.name}/{group.logical_volumes[path[4]].name}"
        return f"vg {group.name}"

    def partition(self, path: KeyPath) -> str | None:
        if len(path) >= 3 and path[:2] == ("storage", "partitions") and isinstance(path[2], int) \
                and path[2] < len(self.owners):
            return device(*self.owners[path[2]])
        return None

    def where(self, path: KeyPath) -> str:
        """A problem's place: the partition's device and the field (/dev/vda3 mount), the layout as a whole,
        or the key path for anything else (storage.disks[0], bootloader)."""
        part = self.partition(path)
        if part is not None:
            return " ".join([part, *(str(p) for p in path[3:] if not isinstance(p, int))])
        stacked = self.stacked(path)
        if stacked is not None:
            fields = path[5:] if len(path) >= 5 and path[3] == "logical_volumes" else path[3:]
            return " ".join([stacked, *(str(p) for p in fields if not isinstance(p, int))])
        return "layout" if path == ("storage", "partitions") else path_text(path)

    def name(self, path: KeyPath) -> str:
        """A related place: a partition or a target disk by its device alone."""
        if len(path) == 3 and path[:2] == ("storage", "disks") and isinstance(path[2], int) \
                and path[2] < len(self.disks):
            return self.disks[path[2]]
        return self.partition(path) or self.stacked(path) or path_text(path)

    def line(self, problem: Problem) -> str:
        text = problem.text(self.name)
        return f"{self.where(problem.path)}: {text}" if problem.path else text


def storage_problems(api: InstallerAPI, profile: Profile, inventory: Inventory, targets: list[DiskInfo],
                     layouts: dict[str, list[Partition]]) -> list[str]:
    """The engine's verdict on the chosen disks and layout, one line per problem, naming partitions by device:
    the profile's and the planner's problems first, and only when there are none the plan's blockers."""
    places = Places(targets, layouts, profile)
    return [places.line(p) for p in api.check("storage", profile, inventory).first()]


def size_text(size: int) -> str:
    """A size written back so that parse_size gives exactly the same number."""
    for unit, factor in (("TiB", 1024**4), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def parse_partition_size(text: str) -> tuple[int | None, str | None]:
    """(size, None) or (None, message) for the size a user typed."""
    try:
        size = parse_size(text.strip())
    except SizeError as err:
        return None, f"size: {err}"
    if size < MiB:
        return None, "size: at least 1MiB (partitions are aligned to 1 MiB)"
    return size, None


def subvolumes_text(subvolumes: tuple[Subvolume, ...]) -> str:
    return " ".join(f"{s.name}:{s.mount}" for s in subvolumes)


def parse_subvolumes(text: str) -> tuple[tuple[Subvolume, ...] | None, str | None]:
    """'root:/ home:/home' (spaces or commas between) into Subvolumes, or a message."""
    found = []
    for item in (i for i in re.split(r"[\s,]+", text.strip()) if i):
        match = _SUBVOLUME.match(item)
        if not match:
            return None, f"subvolumes: '{item}' is not NAME:/MOUNT (e.g. home:/home)"
        found.append(Subvolume(match.group(1), match.group(2)))
    return tuple(found), None


def resized(part: Partition, steps: int) -> Partition:
    return replace(part, size=max(MiB, part.size + steps * RESIZE_STEP))
