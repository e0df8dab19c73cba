"""initramfs-tools targets: the installer's configuration, and when an image's own initramfs can stay.

Building a Debian initramfs is some 2,300 short processes (hooks copying binaries one by one): 10 s
on a host, about 4 minutes under TCG, where it was three quarters of an image install. A root image
can instead carry an initramfs already built with this very configuration for any VM (iso/build.py
builds the live root's so): MODULES=list with the VM disk drivers and the usual filesystems. Such an
initramfs is kept when it cannot differ from what a build here would make:

- the image's conf.d file is the installer's, byte for byte, and its module list holds every module
  this install needs (more modules never stop a boot);
- the initramfs is newer than both files (built from them, not before them), and than every file of
  the configuration mkinitramfs copies in (INPUTS: modprobe options, custom udev rules, .link files):
  a step of this install that wrote one (Azure's SR-IOV rule, say) means a rebuild;
- the storage is plain partitions: no LUKS (cryptroot copies crypttab at build time), no RAID
  (mdadm copies its array list), no LVM, so nothing of this layout is inside an initramfs.

Anything else is rebuilt, as before.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from installer.core.files import inside, read_file
from storage.layout import StoragePlan

CONF_PATH = "/etc/initramfs-tools/conf.d/90-azl-installer.conf"
# What mkinitramfs and its hooks copy from the root's /etc besides the module list (initramfs-tools 0.142).
INPUTS = ("/etc/initramfs-tools", "/etc/modprobe.d", "/etc/udev", "/etc/systemd/network", "/etc/crypttab",
          "/etc/mdadm")
MODULES_PATH = "/etc/initramfs-tools/modules"


def initramfs_tools_conf(root_filesystem: str | None) -> str:
    """The installer's conf.d file. MODULES=list: exactly the VM disk drivers, the layout's filesystems (and
    dm-crypt): unlike MODULES=dep it does not depend on the installer's own hardware, and unlike MODULES=most
    it builds in seconds. FSTYPE: the root's fsck goes in whatever /etc/fstab said when it was built.
    RESUME=none: no hibernation on a VM, and no guess from the swap of the machine that builds it.
    COMPRESSLEVEL=3: zstd's -9 default costs time for a few per cent of a 20 MB file."""
    return ("MODULES=list\nCOMPRESSLEVEL=3\nRESUME=none\n"
            + (f"FSTYPE={root_filesystem}\n" if root_filesystem else ""))


def root_filesystem(plan: StoragePlan) -> str | None:
    holder = plan.holder_of("/")
    return holder.filesystem if holder is not None else None


def plain_storage(plan: StoragePlan) -> bool:
    return not plan.raids and not plan.groups


def reusable(root: Path, kver: str, conf: str, needed: Sequence[str], plan: StoragePlan) -> bool:
    """May the image's /boot/initrd.img-kver stay as it is (see the module's docstring)?"""
    if "dm_crypt" in needed or not plain_storage(plan):
        return False
    initrd = _initrd_mtime(root, f"/boot/initrd.img-{kver}")
    try:  # read inside the target ('' when absent: no match), a link followed only within it
        conf_now, modules = read_file(root, CONF_PATH), read_file(root, MODULES_PATH)
    except OSError:
        return False
    listed = {line.split()[0] for line in modules.splitlines() if line.strip() and not line.startswith("#")}
    return initrd is not None and conf_now == conf and set(needed) <= listed and newest_input(root) <= initrd


def newest_input(root: Path) -> float:
    """The latest mtime among INPUTS (files and the directories holding them: a removed file shows there)."""
    newest = 0.0
    for path in INPUTS:
        top = inside(root, path)
        if top.is_symlink() or not top.exists():
            continue
        newest = max(newest, top.lstat().st_mtime)
        for folder, dirs, files in os.walk(top):  # links are not followed (out of the target, or in a loop)
            for name in (*dirs, *files):
                newest = max(newest, os.lstat(os.path.join(folder, name)).st_mtime)
    return newest


def _initrd_mtime(root: Path, path: str) -> float | None:
    try:
        host = inside(root, path)
        if host.is_symlink() or not host.is_file() or host.stat().st_size == 0:
            return None
        return host.stat().st_mtime
    except OSError:
        return None
