"""Carrying out a StoragePlan: partition, create filesystems, mount, and describe fstab.

Every command goes through the Runner; progress goes to the EventBus. Mounts are recorded
in a MountTable so they are undone in reverse order, also after a failure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from installer.core.events import EventBus
from installer.core.runner import CommandError, Runner
from profiles.model import Subvolume
from storage.layout import DiskPlan, Holder, StoragePlan
from storage.stack_apply import DataDevice, create_groups, create_raids

_MKFS: dict[str, Callable[[str, str | None], list[str]]] = {
    "ext4": lambda dev, label: ["mkfs.ext4", "-F", "-q", *(["-L", label] if label else []), dev],
    "xfs": lambda dev, label: ["mkfs.xfs", "-f", "-q", *(["-L", label] if label else []), dev],
    "btrfs": lambda dev, label: ["mkfs.btrfs", "-f", "-q", *(["-L", label] if label else []), dev],
    "vfat": lambda dev, label: ["mkfs.vfat", "-F", "32", *(["-n", label] if label else []), dev],
    "swap": lambda dev, label: ["mkswap", *(["-L", label] if label else []), dev],
}
MKFS_COMMANDS = {fs: make("DEV", None)[0] for fs, make in _MKFS.items()}  # the program, for the plan
# Kernel filesystem names each on-disk format needs for mounting.
KERNEL_FS = {"ext4": "ext4", "xfs": "xfs", "btrfs": "btrfs", "vfat": "vfat"}


@dataclass(frozen=True)
class FstabEntry:
    spec: str  # UUID=...
    mount: str
    fstype: str
    options: str
    passno: int

    def line(self) -> str:
        return f"{self.spec} {self.mount} {self.fstype} {self.options} 0 {self.passno}"


def missing_kernel_features(plan: StoragePlan, proc_filesystems: str) -> list[str]:
    """Filesystems the plan must mount that this kernel does not offer (checked before writing)."""
    have = {line.split()[-1] for line in proc_filesystems.splitlines() if line.strip()}
    need = {KERNEL_FS[h.filesystem] for h in plan.holders() if h.filesystem in KERNEL_FS}
    return sorted(need - have)




def partition_and_format(plan: StoragePlan, runner: Runner, events: EventBus, *,
                         data_device: DataDevice | None = None, built: list[str] | None = None) -> dict[str, str]:
    """Partition, (encrypt,) build arrays and volume groups, create filesystems. data_device encrypts the
    chosen partitions and arrays; built collects the arrays and groups made, as they are made (the
    teardown takes them down); returns device -> the device holding its data, for the encrypted ones."""
    built = built if built is not None else []
    from storage.partition import write_gpt  # imported here: pyparted loads only when disks are written

    for target in plan.targets:
        events.log(f"erasing and partitioning {target.disk.path}")
        _erase_old_partitions(target.disk.path, runner)
        runner.run(["wipefs", "--all", "--quiet", target.disk.path])
        write_gpt(target)
        _refresh_partition_nodes(target, runner)
    keep = data_device or (lambda device: device)
    opened: dict[str, str] = {}
    for target in plan.targets:
        for part in target.partitions:
            dev = part.device(target.disk.path)
            if part.raid is not None:
                continue  # the array is what gets encrypted, if anything
            inner = keep(dev)
            if inner != dev:
                opened[dev] = inner
    opened |= create_raids(plan, runner, events, keep, built)
    create_groups(plan, runner, events, opened, built, keep)
    holders = plan.holders()
    for done, holder in enumerate(holders, start=1):
        dev = opened.get(holder.device, holder.device)
        mkfs = _MKFS.get(holder.filesystem)
        if mkfs is not None:
            events.progress(done / len(holders), f"creating {holder.filesystem} on {dev}")
            runner.run(mkfs(dev, holder.label))
        if holder.subvolumes:
            _create_subvolumes(dev, holder.subvolumes, runner)
    return opened


def _erase_old_partitions(disk: str, runner: Runner) -> None:
    """Erase the signatures at the start of each partition the disk has now (md superblock, LVM label, LUKS
    header, file system). A new partition starting where an old one did would bring them back, and udev
    would assemble or activate them under the installer: a reinstall of the same layout does exactly that."""
    listed = runner.run(["lsblk", "--list", "--noheadings", "--paths", "--output", "NAME,TYPE", disk], check=False)
    for name, kind in (line.split()[:2] for line in listed.output.splitlines() if len(line.split()) >= 2):
        if kind == "part":
            runner.run(["wipefs", "--all", "--quiet", name])


def _refresh_partition_nodes(target: DiskPlan, runner: Runner) -> None:
    # Drop whatever the kernel knew of the old table, then add the new partitions (BLKPG):
    # this works also on kernels without partition-table parsing, where re-reading does not.
    runner.run(["partx", "--delete", target.disk.path], check=False)
    added = runner.run(["partx", "--add", target.disk.path], check=False)
    runner.run(["udevadm", "settle", "--timeout=10"], check=False)
    for part in target.partitions:
        _wait_for(part.device(target.disk.path))
    # A kernel that parses tables may have re-read the new one already (udev asks it to when the
    # disk is closed after writing), racing partx: then --add fails with EBUSY, yet every node is there.
    if added.returncode != 0 and not all(os.path.exists(p.device(target.disk.path)) for p in target.partitions):
        raise CommandError(added)


def _wait_for(path: str, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)


def _create_subvolumes(dev: str, subvolumes: tuple[Subvolume, ...], runner: Runner) -> None:
    top = Path(f"/run/azl-installer/btrfs-{os.getpid()}")
    top.mkdir(parents=True, exist_ok=True)
    runner.run(["mount", "-t", "btrfs", dev, top])
    try:
        for sv in subvolumes:
            runner.run(["btrfs", "subvolume", "create", top / sv.name])
    finally:
        runner.run(["umount", top])
        top.rmdir()


@dataclass
class MountTable:
    """Mounts made under a target root, undone in reverse order."""

    root: Path
    mounted: list[Path] = field(default_factory=list)

    def mount(self, runner: Runner, source: str, where: str, *options: str) -> None:
        path = self.root / where.lstrip("/")
        path.mkdir(parents=True, exist_ok=True)
        runner.run(["mount", *options, source, path])
        self.mounted.append(path)

    def unmount_all(self, runner: Runner, events: EventBus) -> list[str]:
        """Unmount everything; returns what could not be unmounted (also tried lazily)."""
        failed = []
        for path in reversed(self.mounted):
            try:
                runner.run(["umount", path])
            except CommandError:
                events.log(f"{path} is busy; detaching it lazily", level="warning")
                if runner.run(["umount", "--lazy", path], check=False).returncode != 0:
                    failed.append(str(path))
        self.mounted.clear()
        return failed


def mount_target(plan: StoragePlan, table: MountTable, runner: Runner, opened: Mapping[str, str] = {}) -> None:
    for mount, part, subvol in plan.mounts():
        dev = opened.get(part.device, part.device)
        options = ["-o", f"subvol={subvol.name}"] if subvol else []
        if part.filesystem == "vfat":
            # The ESP as the installed system mounts it (files 0700, as Fedora's shim and grub2 packages
            # declare them). vfat cannot store modes: "quiet" makes rpm's and unsquashfs' chmod of a
            # file to another mode a silent no-op instead of a failed transaction.
            options = ["-o", f"{_options(part)},quiet"]
        table.mount(runner, dev, mount, "-t", KERNEL_FS[part.filesystem], *options)
    # dnf scriptlets and post scripts run chrooted and expect the API filesystems.
    table.mount(runner, "proc", "/proc", "-t", "proc")
    table.mount(runner, "sysfs", "/sys", "-t", "sysfs")
    table.mount(runner, "/dev", "/dev", "--bind")


def fstab_entries(plan: StoragePlan, runner: Runner, opened: Mapping[str, str] = {}) -> list[FstabEntry]:
    """fstab lines by filesystem UUID, read back from the new filesystems with blkid (inside an opened
    LUKS volume for encrypted ones: the filesystem's UUID is what the boot finds once it is unlocked)."""
    entries = []
    for part in plan.holders():
        if part.filesystem not in _MKFS:
            continue
        dev = opened.get(part.device, part.device)
        uuid = runner.run(["blkid", "--probe", "--match-tag", "UUID", "--output", "value", dev]).output.strip()
        spec = f"UUID={uuid}"
        if part.filesystem == "swap":
            entries.append(FstabEntry(spec, "none", "swap", "defaults", 0))
            continue
        if part.mount:
            entries.append(FstabEntry(spec, part.mount, part.filesystem, _options(part), _passno(part)))
        for sv in part.subvolumes:
            entries.append(FstabEntry(spec, sv.mount, "btrfs", f"subvol={sv.name}", 0))
    return sorted(entries, key=lambda e: (e.mount.count("/") - (e.mount == "/"), e.mount))


def _options(part: Holder) -> str:
    return "umask=0077,shortname=winnt" if part.filesystem == "vfat" else "defaults"


def _passno(part: Holder) -> int:
    if part.filesystem not in ("ext4", "vfat"):
        return 0  # xfs and btrfs are not checked by fsck at boot
    return 1 if part.mount == "/" else 2
