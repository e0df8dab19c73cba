"""Kickstart's raid, volgroup and logvol (with part raid.NN and part pv.NN) as storage.raids and
storage.volume_groups; autopart --type=lvm as the layout Anaconda makes.

Anaconda's names carry over: a raid's --device is the array's name (/dev/md/NAME), a volgroup's
name and each logvol's --name stay as written, so the installed system's devices are the ones the
kickstart's author expects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from profiles.kickstart.draft import Draft
from profiles.kickstart.errors import Origin
from profiles.kickstart.reader import Kickstart

# Encrypts a volume group's physical volumes, or one logical volume: (line, the command with the passphrase,
# the group or the mount point, command name).
Encrypt = Callable[[Origin, Any, str, str], None]
AUTOPART_GROUP = "azurelinux"  # Anaconda names autopart's group after the product
LEVELS = {"RAID0": 0, "RAID1": 1, "RAID5": 5, "RAID10": 10}


def _at(ks: Kickstart, obj: Any) -> Origin:
    return ks.origin(getattr(obj, "lineno", None))


def member_roles(ks: Kickstart) -> dict[str, tuple[str, str]]:
    """part or raid name (raid.01, pv.01) -> ("raid" or "volume_group", the array or group it belongs to)."""
    roles: dict[str, tuple[str, str]] = {}
    for raid in ks.handler.commands["raid"].dataList():
        for member in raid.members:
            roles[member] = ("raid", _raid_name(raid))
    for group in ks.handler.commands["volgroup"].dataList():
        for pv in group.physvols:
            roles[pv] = ("volume_group", group.vgname)
    return roles


def _raid_name(raid: Any) -> str:
    return str(raid.device).removeprefix("/dev/md/").removeprefix("/dev/")


def convert_raids(ks: Kickstart, draft: Draft, roles: dict[str, tuple[str, str]], encrypt: Encrypt) -> None:
    for raid in ks.handler.commands["raid"].dataList():
        at = _at(ks, raid)
        if raid.level not in LEVELS:
            draft.refuse(at, f"raid --level={raid.level}: levels 0, 1, 5 and 10 are supported")
            continue
        if not raid.device:
            draft.refuse(at, "raid: name the array with --device=NAME")
            continue
        entry: dict[str, Any] = {"name": _raid_name(raid), "level": LEVELS[raid.level]}
        mount = raid.mountpoint
        if mount.startswith("pv."):
            role = roles.get(mount)
            if role is None:
                draft.refuse(at, f"raid {mount}: no volgroup uses it")
                continue
            entry.update(volume_group=role[1], filesystem="none")
            if raid.encrypted:
                encrypt(at, raid, role[1], "raid")
        else:
            if raid.encrypted:
                draft.refuse(at, "raid --encrypted on an array that holds a filesystem is not supported yet: "
                             "make the array a physical volume of an encrypted volume group")
                continue
            fstype = raid.fstype or ("swap" if mount == "swap" else "xfs")
            entry["filesystem"] = fstype
            if mount.startswith("/"):
                entry["mount"] = mount
        if raid.label:
            entry["label"] = raid.label
        draft.append(("storage", "raids"), entry, at, "raid")


def convert_groups(ks: Kickstart, draft: Draft, encrypt_volume: Encrypt) -> None:
    """Each volgroup with its logvols; encrypt_volume (line, the logvol, its mount point, command) gives a
    logvol --encrypted its own LUKS2 volume, as Anaconda makes one on that logical volume."""
    for group in ks.handler.commands["volgroup"].dataList():
        at = _at(ks, group)
        volumes = [v for v in ks.handler.commands["logvol"].dataList() if v.vgname == group.vgname]
        entry: dict[str, Any] = {"name": group.vgname, "logical_volumes": []}
        index = draft.append(("storage", "volume_groups"), entry, at, "volgroup")
        for volume in volumes:
            entry["logical_volumes"].append(_volume(ks, draft, volume))
            if volume.encrypted:
                if volume.mountpoint.startswith("/"):
                    encrypt_volume(_at(ks, volume), volume, volume.mountpoint, "logvol")
                else:
                    draft.refuse(_at(ks, volume), f"logvol {volume.mountpoint} --encrypted: only a logical volume "
                                 "with a mount point can be encrypted here (no encrypted swap)")
            draft.origins.setdefault(("storage", "volume_groups", index), []).append(f"{_at(ks, volume)} logvol")
        if group.pesize and group.pesize != 4096:
            draft.warn(at, f"volgroup --pesize={group.pesize}: this installer uses LVM's 4 MiB extents")
    names = {g.vgname for g in ks.handler.commands["volgroup"].dataList()}
    for volume in ks.handler.commands["logvol"].dataList():
        if volume.vgname not in names:
            draft.refuse(_at(ks, volume), f"logvol --vgname={volume.vgname}: no volgroup line makes it")


def _volume(ks: Kickstart, draft: Draft, volume: Any) -> dict[str, Any]:
    at = _at(ks, volume)
    mount = volume.mountpoint
    entry: dict[str, Any] = {"name": volume.name}
    if volume.recommended:
        entry["size"] = "2048MiB"
        draft.warn(at, "logvol --recommended: 2048 MiB (Anaconda sizes it from the RAM)")
    elif volume.percent:
        entry["percent"] = volume.percent
    elif volume.size:
        entry["size"] = f"{volume.size}MiB"
    if volume.grow:
        entry["grow"] = True
    entry["filesystem"] = "swap" if mount == "swap" else (volume.fstype or "xfs")
    if volume.thin_pool:  # logvol none --thinpool: the pool holds no filesystem
        entry["thin_pool"] = True
        entry["filesystem"] = "none"
    elif volume.thin_volume:
        entry["pool"] = volume.pool_name
    if mount.startswith("/"):
        entry["mount"] = mount
    if volume.label:
        entry["label"] = volume.label
    return entry


def autopart_lvm(draft: Draft, at: Origin, fstype: str, *, thin: bool = False) -> None:
    """Anaconda's LVM autopart: boot partitions and /boot, one growing physical volume, root filling the group
    (thin: a pool pool00 filling the group, root a thin volume of the pool's size, as --type=thinp)."""
    parts = [{"size": "1MiB", "filesystem": "biosboot"},
             {"size": "600MiB", "filesystem": "vfat", "mount": "/boot/efi", "label": "ESP"},
             {"size": "1024MiB", "filesystem": "xfs" if fstype != "ext4" else "ext4", "mount": "/boot",
              "label": "boot"},
             {"size": "2048MiB", "grow": True, "filesystem": "none", "volume_group": AUTOPART_GROUP}]
    for part in parts:
        draft.append(("storage", "partitions"), part, at, "autopart --type=lvm")
    root = {"name": "root", "grow": True, "mount": "/", "filesystem": fstype or "xfs"}
    volumes = [{"name": "pool00", "grow": True, "thin_pool": True, "filesystem": "none"},
               {**root, "pool": "pool00"}] if thin else [root]
    group = {"name": AUTOPART_GROUP, "logical_volumes": volumes}
    draft.append(("storage", "volume_groups"), group, at, f"autopart --type={'thinp' if thin else 'lvm'}")
