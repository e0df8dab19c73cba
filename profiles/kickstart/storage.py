"""Kickstart's storage commands as the profile's storage and encryption sections.

This installer erases whole target disks and never picks a disk by itself, so a kickstart must name
its disks (ignoredisk --only-use, clearpart --drives or part --ondisk) and say that they are to be
erased (clearpart --all, --drives or --list of whole disks). What it cannot express (a clearpart
that keeps some partitions) is refused with its line, never approximated.
"""

from __future__ import annotations

from typing import Any

from profiles.kickstart.draft import Draft
from profiles.kickstart.errors import Origin
from profiles.kickstart.lvm import Encrypt, autopart_lvm, convert_groups, convert_raids, member_roles
from profiles.kickstart.reader import Kickstart

DEFAULT_PART_MIB = 500  # blivet's default size of a partition given without --size
RECOMMENDED_SWAP_MIB = 2048
ESP_MIB = 600  # Anaconda's EFI system partition on Fedora
AUTOPART_TYPES = {0: "plain", 1: "btrfs", 2: "lvm", 3: "thinp"}
FILESYSTEMS = {"xfs": "xfs", "ext4": "ext4", "btrfs": "btrfs", "efi": "vfat", "vfat": "vfat", "swap": "swap",
               "biosboot": "biosboot"}


def mib(n: int) -> str:
    """A kickstart size (MiB) as the profile writes sizes."""
    return f"{n}MiB"


def disk_path(spec: str) -> str:
    """A kickstart drive name (sda, disk/by-id/..., /dev/vda) as a device path."""
    return spec if spec.startswith("/dev/") else f"/dev/{spec}"


def _at(ks: Kickstart, obj: Any) -> Origin:
    return ks.origin(getattr(obj, "lineno", None))


def convert_storage(ks: Kickstart, draft: Draft) -> None:
    commands = ks.handler.commands
    autopart, parts = commands["autopart"], commands["part"].dataList()
    if not autopart.seen and not parts and not commands["reqpart"].seen:
        if not ks.handler.commands["liveimg"].seen and not draft.problems:
            draft.refuse(ks.origin(None), "no storage: give autopart or part lines (and clearpart)")
        return
    where = _at(ks, autopart) if autopart.seen else _at(ks, parts[0]) if parts else _at(ks, commands["reqpart"])
    disks = _disks(ks, draft, where)
    if disks is None:
        return
    for path in disks:
        draft.append(("storage", "disks"), {"path": path}, where, "target disk")
    ignore = commands["ignoredisk"]
    for spec in ignore.ignoredisk:
        draft.append(("storage", "leave_alone"), {"path": disk_path(spec)}, _at(ks, ignore), "ignoredisk --drives")
    if autopart.seen:
        _autopart(ks, draft, autopart, len(disks))
    else:
        roles = member_roles(ks)
        encrypted_groups: list[str] = []

        def encrypt(at: Origin, obj: Any, group: str, command: str) -> None:
            _encryption(draft, at, obj, None, command)
            encrypted_groups.append(group)

        _partitions(ks, draft, disks, roles, encrypt)
        convert_raids(ks, draft, roles, encrypt)
        def encrypt_volume(at: Origin, obj: Any, mount: str, command: str) -> None:
            _encryption(draft, at, obj, mount, command)

        convert_groups(ks, draft, encrypt_volume)
        for group in draft.get(("storage", "volume_groups"), []):
            if group["name"] in encrypted_groups:
                group["encrypted"] = True


def _disks(ks: Kickstart, draft: Draft, where: Origin) -> list[str] | None:
    """The target disks, in order, once it is certain the kickstart erases each of them."""
    commands = ks.handler.commands
    ignore, clear = commands["ignoredisk"], commands["clearpart"]
    named = [disk_path(d) for d in ignore.onlyuse]
    listed = [d for d in clear.devices if not any(ch.isdigit() for ch in d[-1:]) or d.startswith("disk/")]
    if not named:
        named = [disk_path(d) for d in (clear.drives or listed)]
    if not named:
        named = list(dict.fromkeys(disk_path(p.disk) for p in commands["part"].dataList() if p.disk))
    if not named:
        draft.refuse(where, "name the target disks with 'ignoredisk --only-use=DISK' or 'clearpart --drives=DISK' "
                     "(this installer never picks disks by itself)")
        return None
    if not clear.seen or clear.type == 2:  # CLEARPART_TYPE_NONE
        draft.refuse(_at(ks, clear) if clear.seen else where,
                     "this installer erases its target disks whole: say so with 'clearpart --all --initlabel' "
                     f"(or --drives={','.join(n.removeprefix('/dev/') for n in named)})")
        return None
    partitions = [d for d in clear.devices if d not in listed]
    if partitions:
        draft.refuse(_at(ks, clear), f"clearpart --list names partitions ({', '.join(partitions)}): this installer "
                     "erases whole disks only; list the disks")
        return None
    cleared = {disk_path(d) for d in (clear.drives or listed)} if (clear.drives or listed) else set(named)
    kept = [n for n in named if n not in cleared]
    if kept:
        draft.refuse(_at(ks, clear), f"{', '.join(kept)} would be erased, but clearpart does not name "
                     f"{'it' if len(kept) == 1 else 'them'}")
        return None
    return named


def _autopart(ks: Kickstart, draft: Draft, autopart: Any, disk_count: int) -> None:
    at = _at(ks, autopart)
    kind = AUTOPART_TYPES.get(autopart.type, "plain") if autopart.type is not None else None
    if disk_count > 1:
        draft.refuse(at, "autopart on more than one disk: give part lines for each disk")
        return
    if kind in ("lvm", "thinp"):
        if autopart.fstype and autopart.fstype not in ("xfs", "ext4"):
            draft.refuse(at, f"autopart --fstype={autopart.fstype}: use xfs or ext4")
            return
        autopart_lvm(draft, at, autopart.fstype, thin=kind == "thinp")
        _autopart_warnings(draft, at, autopart)
        if autopart.encrypted:
            _encryption(draft, at, autopart, None, "autopart")
            draft.get(("storage", "volume_groups"))[0]["encrypted"] = True
        return
    auto: dict[str, Any] = {"boot": "both"}  # Anaconda lays out for the firmware it runs on; both boot anywhere
    if kind == "btrfs":
        auto["filesystem"] = "btrfs"
    elif autopart.fstype:
        if autopart.fstype not in ("xfs", "ext4"):
            draft.refuse(at, f"autopart --fstype={autopart.fstype}: use xfs or ext4")
            return
        auto["filesystem"] = autopart.fstype
    draft.set(("storage", "auto"), auto, at, "autopart")
    if kind is None:
        draft.warn(at, "autopart without --type: Anaconda would use the product's default scheme (often LVM); "
                   "this profile uses plain partitions (say --type=plain to silence this)")
    _autopart_warnings(draft, at, autopart)
    if autopart.encrypted:
        _encryption(draft, at, autopart, "/", "autopart")


def _autopart_warnings(draft: Draft, at: Origin, autopart: Any) -> None:
    left_out = [what for what, off in (("swap", autopart.noswap), ("/home", autopart.nohome)) if not off]
    if left_out:
        draft.warn(at, f"autopart: Anaconda may also create {' and '.join(left_out)}; this layout has / and /boot "
                   "only (--noswap --nohome silence this)")


def _encryption(draft: Draft, at: Origin, obj: Any, mount: str | None, command: str) -> None:
    """The encryption section for obj's passphrase and settings; mount joins its volumes (None: the
    caller encrypts a volume group's physical volumes instead)."""
    if not obj.passphrase:
        draft.refuse(at, f"{command} --encrypted needs --passphrase= (an unattended install cannot ask)")
        return
    if obj.luks_version and obj.luks_version != "luks2":
        draft.refuse(at, f"{command} --luks-version={obj.luks_version}: only luks2 is supported")
        return
    enc = draft.get(("encryption",))
    if enc is not None:
        if enc.get("passphrase") != obj.passphrase:
            draft.refuse(at, f"{command}: every encrypted volume must have the same passphrase")
            return
        if mount is not None:
            draft.append(("encryption", "volumes"), mount, at, command)
        return
    entry: dict[str, Any] = {"enabled": True, "key_source": "passphrase", "passphrase": obj.passphrase,
                             "volumes": [mount] if mount is not None else []}
    if obj.cipher:
        entry["cipher"] = obj.cipher
    pbkdf: dict[str, Any] = {}
    if obj.pbkdf:
        pbkdf["type"] = obj.pbkdf
    if obj.pbkdf_memory:
        pbkdf["memory"] = f"{obj.pbkdf_memory}KiB"
    if obj.pbkdf_time:
        pbkdf["iter_time"] = obj.pbkdf_time
    if pbkdf:
        entry["pbkdf"] = pbkdf
    draft.set(("encryption",), entry, at, f"{command} --encrypted")


def _partitions(ks: Kickstart, draft: Draft, disks: list[str], roles: dict[str, tuple[str, str]],
                encrypt: Encrypt) -> None:
    reqpart = ks.handler.commands["reqpart"]
    if reqpart.seen:
        at = _at(ks, reqpart)
        draft.append(("storage", "partitions"), {"size": mib(1), "filesystem": "biosboot"}, at, "reqpart")
        draft.append(("storage", "partitions"), {"size": mib(ESP_MIB), "filesystem": "vfat", "mount": "/boot/efi",
                                                 "label": "ESP"}, at, "reqpart")
        if reqpart.addBoot:
            draft.append(("storage", "partitions"), {"size": mib(1024), "filesystem": "xfs", "mount": "/boot",
                                                     "label": "boot"}, at, "reqpart --add-boot")
    volumes = _btrfs_volumes(ks, draft)
    for part in ks.handler.commands["part"].dataList():
        entry = _partition(ks, draft, part, disks, volumes, roles, encrypt)
        if entry is not None:
            draft.append(("storage", "partitions"), entry, _at(ks, part), "part")


def _partition(ks: Kickstart, draft: Draft, part: Any, disks: list[str], volumes: dict[str, dict[str, Any]],
               roles: dict[str, tuple[str, str]], encrypt: Encrypt) -> dict[str, Any] | None:
    at, mount = _at(ks, part), part.mountpoint
    if mount.startswith(("raid.", "pv.")):
        return _member(draft, at, part, disks, roles, encrypt)
    fstype = "biosboot" if mount == "biosboot" else "swap" if mount == "swap" else part.fstype
    if mount.startswith("btrfs."):
        fstype = "btrfs"
    entry: dict[str, Any] = {}
    if part.recommended:
        entry["size"] = mib(RECOMMENDED_SWAP_MIB)
        draft.warn(at, f"part {mount} --recommended: {RECOMMENDED_SWAP_MIB} MiB (Anaconda sizes it from the RAM)")
    else:
        entry["size"] = mib(part.size or (1 if fstype == "biosboot" else DEFAULT_PART_MIB))
    if part.grow:
        entry["grow"] = True
    if not _on_disk(draft, at, part, disks, entry):
        return None
    if not fstype:
        fstype = "xfs"
        draft.warn(at, f"part {mount}: no --fstype, xfs (this installer's default)")
    if fstype not in FILESYSTEMS:
        draft.refuse(at, f"part {mount} --fstype={fstype}: use xfs, ext4, btrfs, efi, swap or biosboot")
        return None
    entry["filesystem"] = FILESYSTEMS[fstype]
    if mount.startswith("btrfs."):
        volume = volumes.get(mount)
        if volume is None:
            draft.refuse(at, f"part {mount}: no 'btrfs' line uses it")
            return None
        entry.update(volume)
    elif mount.startswith("/"):
        entry["mount"] = mount
    if part.label:
        entry["label"] = part.label
    if part.encrypted:
        _encryption(draft, at, part, entry.get("mount", mount), "part")
    return entry


def _on_disk(draft: Draft, at: Origin, part: Any, disks: list[str], entry: dict[str, Any]) -> bool:
    """Set entry's disk from part --ondisk; False (refused) when that is not a target disk."""
    if part.disk:
        path = disk_path(part.disk)
        if path not in disks:
            draft.refuse(at, f"part --ondisk={part.disk}: not one of the target disks ({', '.join(disks)})")
            return False
        entry["disk"] = disks.index(path)
    return True


def _member(draft: Draft, at: Origin, part: Any, disks: list[str], roles: dict[str, tuple[str, str]],
            encrypt: Encrypt) -> dict[str, Any] | None:
    """part raid.NN or pv.NN: a partition holding no filesystem, in the array or group that names it."""
    role = roles.get(part.mountpoint)
    if role is None:
        draft.refuse(at, f"part {part.mountpoint}: no {'raid' if part.mountpoint.startswith('raid.') else 'volgroup'}"
                     " line uses it")
        return None
    entry: dict[str, Any] = {"size": mib(part.size or DEFAULT_PART_MIB), "filesystem": "none", role[0]: role[1]}
    if part.grow:
        entry["grow"] = True
    if not _on_disk(draft, at, part, disks, entry):
        return None
    if part.encrypted:
        if role[0] == "raid":
            draft.refuse(at, f"part {part.mountpoint} --encrypted: encrypt the array (raid --encrypted) instead")
            return None
        encrypt(at, part, role[1], "part")
    return entry


def _btrfs_volumes(ks: Kickstart, draft: Draft) -> dict[str, dict[str, Any]]:
    """btrfs.NN partition name -> what its volume adds (label, mount, subvolumes)."""
    volumes: dict[str, dict[str, Any]] = {}
    by_name: dict[str, str] = {}  # label or mount point -> partition name
    for line in ks.handler.commands["btrfs"].dataList():
        at = _at(ks, line)
        if line.subvol:
            continue
        if len(line.devices) != 1:
            draft.refuse(at, "btrfs: a volume on more than one partition is not supported")
            continue
        device = line.devices[0]
        entry: dict[str, Any] = {"subvolumes": []}
        if line.mountpoint and line.mountpoint != "none":
            entry["mount"] = line.mountpoint
        if line.label:
            entry["label"] = line.label
            by_name[line.label] = device
        if line.mountpoint:
            by_name[line.mountpoint] = device
        volumes[device] = entry
    for line in ks.handler.commands["btrfs"].dataList():
        if not line.subvol:
            continue
        at = _at(ks, line)
        parent = line.devices[0] if line.devices else ""
        device = by_name.get(parent)
        if device is None:
            draft.refuse(at, f"btrfs --subvol: no btrfs volume labelled or mounted '{parent}'")
            continue
        volumes[device]["subvolumes"].append({"name": line.name or line.mountpoint.strip("/") or "root",
                                              "mount": line.mountpoint})
    for entry in volumes.values():
        if not entry["subvolumes"]:
            del entry["subvolumes"]
    return volumes
