"""What is built on top of the partitions: software RAID arrays (mdadm) and LVM volume groups.

Pure planning, like layout.py: which devices each array and group is made of, how big each logical
volume comes out, and the exact commands that create them. Sizes are estimates good enough to
refuse a layout that cannot fit before any disk is written; lvcreate decides the last extent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from profiles.convert import Problem
from profiles.model import LogicalVolume, RaidArray, VolumeGroup
from profiles.sizes import MiB, format_size

EXTENT = 4 * MiB  # LVM's default physical extent
PV_OVERHEAD = MiB  # metadata area at the start of each physical volume
LUKS_HEADER = 16 * MiB  # a LUKS2 header with its key slots, in front of the data
MD_OVERHEAD = 2 * MiB  # mdadm 1.2 superblock and bitmap, at the start of each member


class StackError(ValueError):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


@dataclass(frozen=True)
class Member:
    device: str  # a partition (or, for a group, an array)
    size: int


@dataclass(frozen=True)
class PlannedRaid:
    name: str
    level: int
    members: tuple[Member, ...]
    filesystem: str
    mount: str | None
    label: str | None
    volume_group: str | None

    @property
    def device(self) -> str:
        return f"/dev/md/{self.name}"

    @property
    def size(self) -> int:
        smallest = min(m.size for m in self.members) - MD_OVERHEAD
        data = {0: len(self.members), 1: 1, 5: len(self.members) - 1, 10: len(self.members) // 2}[self.level]
        return max(0, smallest * data)

    def create_argv(self, devices: Sequence[str]) -> list[str]:
        # --homehost=any: the installed system assembles it whatever its host name (the installer's is another).
        return ["mdadm", "--create", self.device, "--run", "--metadata=1.2", f"--level={self.level}",
                f"--raid-devices={len(devices)}", "--homehost=any", f"--name={self.name}", *devices]


@dataclass(frozen=True)
class PlannedVolume:
    group: str
    name: str
    size: int  # as planned (a growing volume: what it gets on these disks)
    percent: int | None
    grow: bool
    filesystem: str
    mount: str | None
    label: str | None
    thin_pool: bool = False
    pool: str | None = None  # a thin volume of this pool (size: its virtual size)

    @property
    def device(self) -> str:
        return f"/dev/{self.group}/{self.name}"

    def create_argv(self) -> list[str]:
        if self.pool is not None:
            return ["lvcreate", "--yes", "--thin", "--virtualsize", f"{self.size // MiB}m", "--name", self.name,
                    f"{self.group}/{self.pool}"]
        if self.grow:
            extent = ["--extents", "100%FREE"]  # for a thin pool, LVM leaves room for its metadata itself
        elif self.percent is not None:
            extent = ["--extents", f"{self.percent}%VG"]
        else:
            extent = ["--size", f"{self.size // MiB}m"]
        kind = ["--type", "thin-pool"] if self.thin_pool else []
        # --wipesignatures: an old filesystem's signature on the reused extents would confuse blkid.
        return ["lvcreate", "--yes", "--wipesignatures", "y", *kind, *extent, "--name", self.name, self.group]


@dataclass(frozen=True)
class PlannedGroup:
    name: str
    pvs: tuple[Member, ...]
    encrypted: bool
    volumes: tuple[PlannedVolume, ...]  # in creation order: fixed sizes, percentages, the growing one last

    @property
    def size(self) -> int:
        return group_size(self.pvs, self.encrypted)


def group_size(pvs: Sequence[Member], encrypted: bool) -> int:
    usable = sum(max(0, m.size - PV_OVERHEAD - (LUKS_HEADER if encrypted else 0)) // EXTENT * EXTENT for m in pvs)
    return usable


def plan_raid(index: int, raid: RaidArray, members: Sequence[Member]) -> PlannedRaid:
    if not members:
        raise StackError(Problem(("storage", "raids", index), f"no partition is a member of '{raid.name}'"))
    return PlannedRaid(raid.name, raid.level, tuple(members), raid.filesystem, raid.mount, raid.label,
                       raid.volume_group)


def plan_group(index: int, group: VolumeGroup, pvs: Sequence[Member]) -> PlannedGroup:
    at = ("storage", "volume_groups", index)
    if not pvs:
        raise StackError(Problem(at, f"no physical volume in '{group.name}'"))
    size = group_size(pvs, group.encrypted)
    # Thin volumes take no extents of the group: their pool does.
    real = [v for v in group.logical_volumes if v.pool is None]
    fixed = sum(_extents(v.size or 0) for v in real if v.percent is None)
    percent = sum(size * (v.percent or 0) // 100 // EXTENT * EXTENT for v in real)
    if fixed + percent > size:
        raise StackError(Problem(at, f"its logical volumes need {format_size(fixed + percent)} but "
                                     f"'{group.name}' holds about {format_size(size)}"))
    left = size - fixed - percent
    volumes = [_volume(group.name, v, size, left) for v in real]
    pools = {v.name: v.size for v in volumes if v.thin_pool}
    thin = [_thin_volume(group.name, v, pools.get(v.pool or "", 0)) for v in group.logical_volumes
            if v.pool is not None]
    # Fixed sizes first, the growing one takes the rest, thin volumes last (their pool exists by then).
    ordered = [v for v in volumes if not v.grow] + [v for v in volumes if v.grow] + thin
    return PlannedGroup(group.name, tuple(pvs), group.encrypted, tuple(ordered))


def _thin_volume(group: str, volume: LogicalVolume, pool_size: int) -> PlannedVolume:
    size = pool_size if volume.grow else _extents(volume.size or 0)
    return PlannedVolume(group, volume.name, size, None, volume.grow, volume.filesystem, volume.mount, volume.label,
                         pool=volume.pool)


def _extents(size: int) -> int:
    return -(-size // EXTENT) * EXTENT


def _volume(group: str, volume: LogicalVolume, group_size_: int, left: int) -> PlannedVolume:
    if volume.grow:
        # A growing volume with a size is created at 100%FREE: its size was counted as fixed, so add it back.
        size = left + _extents(volume.size or 0)
    elif volume.percent is not None:
        size = group_size_ * volume.percent // 100 // EXTENT * EXTENT
    else:
        size = _extents(volume.size or 0)
    return PlannedVolume(group, volume.name, size, volume.percent if not volume.grow else None, volume.grow,
                         volume.filesystem, volume.mount, volume.label, thin_pool=volume.thin_pool)


def stack_kernel_arguments(groups: Sequence[PlannedGroup]) -> list[str]:
    """dracut's rd.lvm.lv= for the logical volumes the boot needs early (the root, swap for resume), as
    Anaconda writes them; arrays need none (dracut assembles what mdadm.conf lists)."""
    return [f"rd.lvm.lv={v.group}/{v.name}" for g in groups for v in g.volumes
            if v.mount == "/" or v.filesystem == "swap"]


