"""Checks of the device stack over partitions: software RAID arrays and LVM volume groups.

What mdadm, LVM or GRUB would otherwise refuse halfway through an install (an array with too few
members, a volume group with no physical volume, /boot where GRUB cannot read it) is said here,
at validate time, with the key to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from profiles.convert import Problem
from profiles.model import LogicalVolume, Profile, Storage

KeyPath = tuple[str | int, ...]
MIN_MEMBERS = {0: 2, 1: 2, 5: 3, 10: 4}
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,62}$")  # md and LVM names alike, kept to the safe subset
_NO_MOUNT = ("swap", "biosboot", "none")


def stack_mounts(storage: Storage) -> dict[str, KeyPath]:
    """Mount points of the arrays and logical volumes, by the key that sets each (first one wins)."""
    found: dict[str, KeyPath] = {}
    for i, raid in enumerate(storage.raids):
        if raid.mount is not None:
            found.setdefault(raid.mount, ("storage", "raids", i, "mount"))
    for g, group in enumerate(storage.volume_groups):
        for v, volume in enumerate(group.logical_volumes):
            if volume.mount is not None:
                found.setdefault(volume.mount, ("storage", "volume_groups", g, "logical_volumes", v, "mount"))
    return found


def stack_problems(profile: Profile, partition_mounts: dict[str, KeyPath]) -> Iterator[Problem]:
    storage = profile.storage
    yield from _members(storage)
    yield from _raids(storage)
    yield from _groups(profile)
    yield from _mounts(storage, partition_mounts)
    yield from _boot(storage, partition_mounts)


def _members(storage: Storage) -> Iterator[Problem]:
    raids = {r.name for r in storage.raids}
    groups = {g.name for g in storage.volume_groups}
    for i, part in enumerate(storage.partitions):
        at: KeyPath = ("storage", "partitions", i)
        if part.raid is not None and part.volume_group is not None:
            yield Problem((*at, "volume_group"), "a partition is either a RAID member or a physical volume")
        for key, names, what in (("raid", raids, "storage.raids"), ("volume_group", groups, "storage.volume_groups")):
            name = getattr(part, key)
            if name is None:
                continue
            if name not in names:
                yield Problem((*at, key), f"no array or group named '{name}' in {what}")
            if part.filesystem != "none" or part.mount is not None:
                yield Problem((*at, "filesystem"), f"a partition in {key.replace('_', ' ')} '{name}' holds no "
                              "filesystem of its own: set filesystem: none and no mount")


def _raids(storage: Storage) -> Iterator[Problem]:
    names: list[str] = []
    groups = {g.name for g in storage.volume_groups}
    for i, raid in enumerate(storage.raids):
        at: KeyPath = ("storage", "raids", i)
        yield from _name(raid.name, names, "array", (*at, "name"))
        members = [p for p in storage.partitions if p.raid == raid.name]
        if len(members) < MIN_MEMBERS[raid.level]:
            yield Problem((*at, "level"), f"RAID {raid.level} needs at least {MIN_MEMBERS[raid.level]} member "
                          f"partitions; {len(members)} name '{raid.name}'")
        disks = [p.disk for p in members]
        if raid.level != 0 and len(set(disks)) < len(disks):
            yield Problem((*at, "level"), f"two members of '{raid.name}' are on the same disk: losing that disk "
                          "would lose the array")
        if raid.volume_group is not None:
            if raid.volume_group not in groups:
                yield Problem((*at, "volume_group"), f"no volume group named '{raid.volume_group}'")
            if raid.filesystem != "none" or raid.mount is not None:
                yield Problem((*at, "filesystem"), "an array in a volume group holds no filesystem: set "
                              "filesystem: none and no mount")
        elif raid.filesystem not in _NO_MOUNT and raid.mount is None:
            yield Problem((*at, "mount"), f"a {raid.filesystem} array needs a mount point")
        elif raid.filesystem in ("biosboot", "vfat"):
            yield Problem((*at, "filesystem"), f"{raid.filesystem} belongs on a partition, not on an array")


def _groups(profile: Profile) -> Iterator[Problem]:
    storage = profile.storage
    names: list[str] = []
    for g, group in enumerate(storage.volume_groups):
        at: KeyPath = ("storage", "volume_groups", g)
        yield from _name(group.name, names, "volume group", (*at, "name"))
        pvs = [p.volume_group for p in storage.partitions] + [r.volume_group for r in storage.raids]
        if group.name not in pvs:
            yield Problem((*at, "name"), f"no partition or array is a physical volume of '{group.name}' (give one "
                          f"volume_group: {group.name})")
        if not group.logical_volumes:
            yield Problem((*at, "logical_volumes"), "a volume group needs at least one logical volume")
        enc = profile.encryption
        if group.encrypted and (enc is None or not enc.enabled):
            yield Problem((*at, "encrypted"), "an encrypted volume group needs the encryption section (enabled, "
                          "with its key)")
        yield from _volumes(group.logical_volumes, at)


def _name(name: str, earlier: list[str], what: str, at: KeyPath) -> Iterator[Problem]:
    """A name md or LVM takes, used once (earlier collects the names seen so far)."""
    if not _NAME.match(name):
        yield Problem(at, f"'{name}' is not a {what} name (letters, digits, _ . + -)")
    elif name in earlier:
        yield Problem(at, f"{what} '{name}' is defined twice")
    earlier.append(name)


def _volumes(volumes: tuple[LogicalVolume, ...], at: KeyPath) -> Iterator[Problem]:
    names: list[str] = []
    percent = 0
    grows = 0
    for v, volume in enumerate(volumes):
        here: KeyPath = (*at, "logical_volumes", v)
        yield from _name(volume.name, names, "logical volume", (*here, "name"))
        if volume.size is not None and volume.percent is not None:
            yield Problem((*here, "percent"), "give size or percent, not both")
        if volume.size is None and volume.percent is None and not volume.grow:
            yield Problem((*here, "size"), "give size, percent or grow: true")
        if volume.percent is not None:
            if not 1 <= volume.percent <= 100:
                yield Problem((*here, "percent"), "percent runs from 1 to 100")
            percent += volume.percent
        if volume.size is not None and volume.size <= 0:
            yield Problem((*here, "size"), "size must be larger than 0")
        grows += volume.grow and volume.pool is None  # a thin volume's grow is the pool's size, not the group's
        if volume.grow and volume.pool is None and grows > 1:
            yield Problem((*here, "grow"), "only one logical volume of a group can grow")
        if volume.filesystem in ("biosboot", "vfat"):
            yield Problem((*here, "filesystem"), f"{volume.filesystem} belongs on a partition")
        elif volume.filesystem not in _NO_MOUNT and volume.mount is None:
            yield Problem((*here, "mount"), f"a {volume.filesystem} logical volume needs a mount point")
        elif volume.filesystem in _NO_MOUNT and volume.mount is not None:
            yield Problem((*here, "mount"), f"a {volume.filesystem} logical volume has no mount point")
    if percent > 100:
        yield Problem((*at, "logical_volumes"), f"the percentages add up to {percent} (more than 100)")
    yield from _thin(volumes, at)


def _thin(volumes: tuple[LogicalVolume, ...], at: KeyPath) -> Iterator[Problem]:
    """Thin pools hold no filesystem; a thin volume names a pool of its group and has a virtual size."""
    pools = {v.name for v in volumes if v.thin_pool}
    for v, volume in enumerate(volumes):
        here: KeyPath = (*at, "logical_volumes", v)
        if volume.thin_pool and volume.pool is not None:
            yield Problem((*here, "pool"), "a thin pool is not a thin volume of another pool")
        elif volume.thin_pool and volume.filesystem != "none":
            yield Problem((*here, "filesystem"), "a thin pool holds no filesystem: set filesystem: none (its thin "
                          "volumes hold them)")
        elif volume.pool is not None:
            if volume.pool not in pools:
                yield Problem((*here, "pool"), f"no thin pool named '{volume.pool}' in this volume group")
            if volume.percent is not None:
                yield Problem((*here, "percent"), "a thin volume has a virtual size (size, or grow: true for the "
                              "pool's size), not a percentage")


def _mounts(storage: Storage, partition_mounts: dict[str, KeyPath]) -> Iterator[Problem]:
    seen = dict(partition_mounts)
    for i, raid in enumerate(storage.raids):
        yield from _claim(seen, raid.mount, ("storage", "raids", i, "mount"))
    for g, group in enumerate(storage.volume_groups):
        for v, volume in enumerate(group.logical_volumes):
            yield from _claim(seen, volume.mount, ("storage", "volume_groups", g, "logical_volumes", v, "mount"))


def _claim(seen: dict[str, KeyPath], mount: str | None, at: KeyPath) -> Iterator[Problem]:
    if mount is None:
        return
    if not mount.startswith("/") or "//" in mount or (mount != "/" and mount.endswith("/")):
        yield Problem(at, f"'{mount}' is not an absolute mount point such as /var")
    elif mount in seen:
        yield Problem(at, f"mount point {mount} is used twice", related=(seen[mount],))
    else:
        seen[mount] = at


def _boot(storage: Storage, partition_mounts: dict[str, KeyPath]) -> Iterator[Problem]:
    """GRUB reads /boot from a partition or a RAID 1 array, never from LVM (as Anaconda requires)."""
    mounts = stack_mounts(storage)
    boot = "/boot" if "/boot" in mounts or "/boot" in partition_mounts else "/"
    at = mounts.get(boot)
    if at is None:
        return  # on a partition
    if at[1] == "volume_groups":
        yield Problem(at, f"{boot} on a logical volume: GRUB needs /boot on a partition or a RAID 1 array "
                      "(add a /boot partition)")
    else:
        raid = storage.raids[int(at[2])]
        if raid.level != 1:
            yield Problem(at, f"{boot} on RAID {raid.level}: GRUB reads /boot only from RAID 1 (or a partition)")
