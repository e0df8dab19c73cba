"""From a profile's storage section and an inventory to a concrete, reviewable storage plan.

Pure computation: no device is opened here. The plan says, per disk, whether it is erased
and partitioned (with exact offsets), explicitly left alone, or simply not used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from profiles.convert import Problem
from profiles.model import AutoLayout, DiskMatch, Partition, Storage, Subvolume
from profiles.sizes import GiB, MiB, format_size
from profiles.source import KeyPath
from storage.inventory import DiskInfo, Inventory
from storage.release import plan_release, read_tree
from storage.stack import Member, PlannedGroup, PlannedRaid, StackError, plan_group, plan_raid

ALIGN = MiB  # every partition starts and ends on a 1 MiB boundary
GPT_RESERVED_END = MiB  # backup GPT lives in the last sectors; keep the final MiB free
MIN_ROOT = 2 * GiB

GUID_ESP = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
GUID_BIOS_BOOT = "21686148-6449-6E6F-744E-656564454649"
GUID_LINUX = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
GUID_SWAP = "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"
GUID_RAID = "A19D880F-05FC-4D3B-A006-743F0F84911E"
GUID_LVM = "E6D6D379-F507-44C2-A23C-238F2A3DF928"


class LayoutError(ValueError):
    """The profile cannot be laid out on these disks; problem.path says which setting to change."""

    def __init__(self, path: KeyPath, message: str, related: tuple[KeyPath, ...] = ()) -> None:
        self.problem = Problem(path, message, related)
        super().__init__(str(self.problem))

    @property
    def key_path(self) -> str:
        return self.problem.key


@dataclass(frozen=True)
class PlannedPartition:
    number: int
    start: int
    size: int
    filesystem: str
    mount: str | None
    label: str | None
    subvolumes: tuple[Subvolume, ...] = ()
    raid: str | None = None  # a member of this array
    volume_group: str | None = None  # a physical volume of this group

    @property
    def type_guid(self) -> str:
        if self.raid is not None:
            return GUID_RAID
        if self.volume_group is not None:
            return GUID_LVM
        return {"vfat": GUID_ESP, "biosboot": GUID_BIOS_BOOT, "swap": GUID_SWAP}.get(self.filesystem, GUID_LINUX)

    def device(self, disk_path: str) -> str:
        # /dev/vda -> /dev/vda1, /dev/nvme0n1 and /dev/loop0 -> ...p1 (kernel naming rule).
        sep = "p" if disk_path[-1].isdigit() else ""
        return f"{disk_path}{sep}{self.number}"


@dataclass(frozen=True)
class DiskPlan:
    disk: DiskInfo
    partitions: tuple[PlannedPartition, ...]


@dataclass(frozen=True)
class Firmware:
    """How the layout boots: GRUB for BIOS on each disk with a BIOS boot partition, UEFI with an ESP."""

    bios_disks: tuple[str, ...]  # disks holding a BIOS boot partition: grub-install i386-pc on each
    uefi: bool  # an EFI system partition is mounted at /boot/efi

    def describe(self) -> str:
        parts = [f"BIOS (GRUB on {', '.join(self.bios_disks)})"] if self.bios_disks else []
        parts += ["UEFI (ESP, removable fallback path EFI/BOOT/BOOTX64.EFI)"] if self.uefi else []
        return " and ".join(parts) or "none"


@dataclass(frozen=True)
class Holder:
    """A device that holds a filesystem (or swap): a partition, a RAID array or a logical volume."""

    device: str
    filesystem: str
    mount: str | None
    label: str | None
    subvolumes: tuple[Subvolume, ...] = ()
    kind: str = "partition"  # "partition", "raid" or "lvm"


@dataclass(frozen=True)
class StoragePlan:
    targets: tuple[DiskPlan, ...]
    left_alone: tuple[DiskInfo, ...]  # named by the profile as never to be touched
    unused: tuple[DiskInfo, ...]  # neither target nor named: also not touched
    raids: tuple[PlannedRaid, ...] = ()
    groups: tuple[PlannedGroup, ...] = ()
    release: tuple[str, ...] = ()  # what is active on the target disks and is taken down first
    in_use: tuple[str, ...] = ()  # what is active there and may not be: the plan cannot be carried out

    def holders(self) -> list[Holder]:
        """Every device that gets a filesystem or swap, in the order they are made."""
        found = [Holder(p.device(t.disk.path), p.filesystem, p.mount, p.label, p.subvolumes)
                 for t in self.targets for p in t.partitions if p.filesystem not in ("biosboot", "none")]
        found += [Holder(r.device, r.filesystem, r.mount, r.label, kind="raid") for r in self.raids
                  if r.filesystem != "none"]
        found += [Holder(v.device, v.filesystem, v.mount, v.label, kind="lvm") for g in self.groups
                  for v in g.volumes if v.filesystem != "none"]
        return found

    def mounts(self) -> list[tuple[str, Holder, Subvolume | None]]:
        """Every mount point with what backs it, parents before children (/ before /boot)."""
        found: list[tuple[str, Holder, Subvolume | None]] = []
        for holder in self.holders():
            if holder.mount and holder.filesystem != "swap":
                found.append((holder.mount, holder, None))
            found += [(sv.mount, holder, sv) for sv in holder.subvolumes]
        return sorted(found, key=lambda m: (m[0].count("/") - (m[0] == "/"), m[0]))

    def holder_of(self, mount: str) -> Holder | None:
        return next((h for m, h, _ in self.mounts() if m == mount), None)

    def firmware(self) -> Firmware:
        bios = tuple(t.disk.path for t in self.targets if any(_bios_boot(p) for p in t.partitions))
        uefi = any(_esp(p) for t in self.targets for p in t.partitions)
        return Firmware(bios, uefi)


def matches(rule: DiskMatch, disk: DiskInfo) -> bool:
    if rule.path is not None and os.path.realpath(rule.path) != os.path.realpath(disk.path) \
            and rule.path != disk.path:
        return False
    if rule.serial is not None and rule.serial != disk.serial:
        return False
    if rule.model is not None and rule.model != disk.model:
        return False
    if rule.min_size is not None and disk.size < rule.min_size:
        return False
    return not (rule.max_size is not None and disk.size > rule.max_size)


def _one_disk(rule: DiskMatch, inventory: Inventory, key: KeyPath) -> DiskInfo:
    found = [d for d in inventory.disks if matches(rule, d)]
    if not found:
        seen = "; ".join(d.describe() for d in inventory.disks) or "no disks at all"
        raise LayoutError(key, f"no disk matches this rule (disks seen: {seen})")
    if len(found) > 1:
        names = ", ".join(d.path for d in found)
        raise LayoutError(key, f"the rule matches {len(found)} disks ({names}); add a serial or path")
    return found[0]


def select_disks(storage: Storage, inventory: Inventory) -> tuple[list[DiskInfo], list[DiskInfo]]:
    targets = [_one_disk(r, inventory, ("storage", "disks", i)) for i, r in enumerate(storage.disks)]
    keep = [d for d in inventory.disks if any(matches(r, d) for r in storage.leave_alone)]
    for i, disk in enumerate(targets):
        if targets.index(disk) != i:
            raise LayoutError(("storage", "disks", i), f"{disk.path} is already chosen by an earlier rule",
                              related=(("storage", "disks", targets.index(disk)),))
        if disk in keep:
            rules = tuple(("storage", "leave_alone", j) for j, r in enumerate(storage.leave_alone) if matches(r, disk))
            raise LayoutError(("storage", "disks", i), f"{disk.path} is both a target and left alone", related=rules)
        if disk.readonly:
            raise LayoutError(("storage", "disks", i), f"{disk.path} is read-only")
    return targets, keep


def _bios_boot(part: Partition | PlannedPartition) -> bool:
    return part.filesystem == "biosboot"


def _esp(part: Partition | PlannedPartition) -> bool:
    return part.filesystem == "vfat" and part.mount == "/boot/efi"


def boot_modes(storage: Storage) -> tuple[str, ...]:
    """The firmwares a profile's layout boots with ("bios", "uefi"), before any disk is planned: what
    its partitions, explicit or automatic, hold, by the same rules as StoragePlan.firmware."""
    parts = storage.partitions or tuple(auto_partitions(storage.auto or AutoLayout()))
    return (*(("bios",) if any(map(_bios_boot, parts)) else ()), *(("uefi",) if any(map(_esp, parts)) else ()))


def auto_partitions(auto: AutoLayout) -> list[Partition]:
    parts: list[Partition] = []
    if auto.boot in ("bios", "both"):
        parts.append(Partition(size=MiB, filesystem="biosboot"))
    if auto.boot in ("uefi", "both"):
        parts.append(Partition(size=auto.esp_size, filesystem="vfat", mount="/boot/efi", label="ESP"))
    boot_fs = "ext4" if auto.filesystem == "btrfs" else auto.filesystem
    parts.append(Partition(size=auto.boot_size, filesystem=boot_fs, mount="/boot", label="boot"))
    if auto.filesystem == "btrfs":
        subvols = auto.subvolumes or (Subvolume("root", "/"), Subvolume("home", "/home"))
        parts.append(Partition(size=MIN_ROOT, grow=True, filesystem="btrfs", label="root", subvolumes=subvols))
    else:
        parts.append(Partition(size=MIN_ROOT, grow=True, filesystem=auto.filesystem, mount="/", label="root"))
    return parts


def _align_up(value: int) -> int:
    return -(-value // ALIGN) * ALIGN


def _place(disk: DiskInfo, parts: list[Partition], index: int) -> tuple[PlannedPartition, ...]:
    usable_end = (disk.size - GPT_RESERVED_END) // ALIGN * ALIGN
    fixed = sum(_align_up(p.size) for p in parts)
    if ALIGN + fixed > usable_end:
        raise LayoutError(
            ("storage", "disks", index),
            f"the layout needs {format_size(ALIGN + fixed + GPT_RESERVED_END)} but {disk.path} "
            f"has {format_size(disk.size)}",
        )
    spare = usable_end - ALIGN - fixed
    planned, offset = [], ALIGN
    for number, part in enumerate(parts, start=1):
        size = _align_up(part.size) + (spare if part.grow else 0)
        planned.append(PlannedPartition(number, offset, size, part.filesystem, part.mount, part.label,
                                        part.subvolumes, part.raid, part.volume_group))
        offset += size
    return tuple(planned)


def plan_storage(storage: Storage, inventory: Inventory) -> StoragePlan:
    targets, keep = select_disks(storage, inventory)
    if storage.partitions:
        by_disk: dict[int, list[Partition]] = {i: [] for i in range(len(targets))}
        for i, part in enumerate(storage.partitions):
            if part.disk not in by_disk:  # the profile check says so too; an editor may plan before checking
                raise LayoutError(("storage", "partitions", i, "disk"), f"disk {part.disk} is not a target disk")
            by_disk[part.disk].append(part)
    else:
        if len(targets) > 1:
            raise LayoutError(("storage", "disks"), "the automatic layout uses one disk; list partitions for more")
        by_disk = {0: auto_partitions(storage.auto or AutoLayout())}
    plans = tuple(DiskPlan(d, _place(d, by_disk[i], i)) for i, d in enumerate(targets))
    unused = tuple(d for d in inventory.disks if d not in targets and d not in keep)
    raids, groups = _stack(storage, plans)
    release = plan_release(read_tree(inventory.stack), [d.path for d in targets]) if inventory.stack else None
    return StoragePlan(plans, tuple(keep), unused, raids, groups,
                       tuple(line for line, _ in release.actions) if release else (),
                       tuple(release.refusals) if release else ())


def _stack(storage: Storage, plans: tuple[DiskPlan, ...]) -> tuple[tuple[PlannedRaid, ...], tuple[PlannedGroup, ...]]:
    """The arrays over the partitions that name them, then the groups over partitions and arrays."""
    parts = [(p, t) for t in plans for p in t.partitions]
    try:
        raids = tuple(plan_raid(i, r, [Member(p.device(t.disk.path), p.size) for p, t in parts if p.raid == r.name])
                      for i, r in enumerate(storage.raids))
        groups = tuple(plan_group(i, g, [Member(p.device(t.disk.path), p.size) for p, t in parts
                                         if p.volume_group == g.name]
                                  + [Member(r.device, r.size) for r in raids if r.volume_group == g.name])
                       for i, g in enumerate(storage.volume_groups))
    except StackError as err:
        raise LayoutError(err.problem.path, err.problem.message) from None
    return raids, groups
