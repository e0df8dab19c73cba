"""The custom layout: partitions per target disk, checked by the engine's own rules.

The UI keeps one list of profile Partitions per target disk (keyed by its path, so a disk
keeps its layout while the user changes roles). storage_partitions() flattens them into the
profile's storage.partitions; layout_problems() runs the engine's checks (profiles.checks,
storage.layout.plan_storage, the plan's bootloader blocker) and says which partition each
problem is about. Nothing here decides what is valid.
"""

from __future__ import annotations

import re
from dataclasses import replace

from installer.plan import make_plan
from profiles.checks import check_profile
from profiles.convert import Problem
from profiles.model import AutoLayout, Filesystem, Partition, Profile, Storage, Subvolume
from profiles.sizes import GiB, KiB, MiB, SizeError, parse_size
from storage.inventory import DiskInfo, Inventory
from storage.layout import LayoutError, PlannedPartition, StoragePlan, auto_partitions, plan_storage

# What storage.apply can create (vfat only as the ESP; biosboot and swap carry no mount point).
PARTITION_FILESYSTEMS: tuple[Filesystem, ...] = ("xfs", "ext4", "btrfs", "vfat", "swap", "biosboot")
NEW_PARTITION = Partition(size=10 * GiB, filesystem="xfs")
RESIZE_STEP = GiB
_SUBVOLUME = re.compile(r"^([A-Za-z0-9@._-]+):(/\S*)$")


def seed(auto: AutoLayout, first: bool) -> list[Partition]:
    """Where editing starts: the automatic layout on the first disk, nothing on the others."""
    return list(auto_partitions(auto)) if first else []


def storage_partitions(targets: list[DiskInfo], layouts: dict[str, list[Partition]]) -> tuple[Partition, ...]:
    """The profile's storage.partitions: each disk's list with disk set to its index in storage.disks."""
    return tuple(replace(p, disk=i) for i, d in enumerate(targets) for p in layouts.get(d.path, []))


def device(disk_path: str, number: int) -> str:
    return PlannedPartition(number, 0, 0, "", None, None).device(disk_path)


def _where(problem: Problem, owners: list[tuple[str, int]]) -> str:
    path = problem.path
    if len(path) >= 3 and path[1] == "partitions" and isinstance(path[2], int) and path[2] < len(owners):
        disk, number = owners[path[2]]
        detail = " ".join(str(p) for p in path[3:] if not isinstance(p, int))
        return f"{device(disk, number)}{' ' + detail if detail else ''}"
    return "layout"


def _name_disks(message: str, targets: list[DiskInfo], owners: list[tuple[str, int]]) -> str:
    """The checks count disks and partitions by index into the profile; the user knows device names."""

    def by_path(match: re.Match[str]) -> str:
        index = int(match.group(2))
        return match.group(1) + (targets[index].path if index < len(targets) else f"disk {index}")

    def by_device(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return device(*owners[index]) if index < len(owners) else match.group(0)

    message = re.sub(r"storage\.partitions\[(\d+)\](\.mount)?", by_device, message)
    return re.sub(r"(^|on )disk (\d+)", by_path, message)


def layout_problems(storage: Storage, inventory: Inventory, targets: list[DiskInfo],
                    layouts: dict[str, list[Partition]], profile: Profile | None = None) -> list[str]:
    """The engine's verdict on a custom layout, one line per problem, naming the partition."""
    owners = [(d.path, n) for d in targets for n in range(1, len(layouts.get(d.path, [])) + 1)]
    problems = [p for p in check_profile(Profile(storage=storage)) if p.path[:1] == ("storage",)]
    if problems:
        return [f"{_where(p, owners)}: {_name_disks(p.message, targets, owners)}" for p in problems]
    try:
        plan_storage(storage, inventory)
    except LayoutError as err:
        return [str(err)]
    if profile is None:
        return []
    # The plan's own blockers about the layout (no boot partition, a UEFI-only Azure setting ...).
    try:
        blockers = make_plan(replace(profile, storage=storage), inventory).blockers
    except Exception:  # another section's problem: Review shows the whole plan and says what it is
        return []
    return [str(b) for b in blockers if b.section in ("bootloader", "storage", "") or b.key == "azure.trusted_launch"]


def planned(storage: Storage, inventory: Inventory) -> StoragePlan | None:
    try:
        return plan_storage(storage, inventory)
    except (LayoutError, KeyError):
        return None


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
