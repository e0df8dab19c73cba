"""What the live root is made of, and the cache key that names a built one.

The live root doubles as the installed system's payload (the profiles unpack its squashfs),
so it carries what an installed system needs to boot too: kernel, GRUB, systemd, the
initramfs tool. Everything else is left out; recommends are never installed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Literal

# Bump when anything that shapes the cached root changes outside the fields below (the
# mmdebstrap options or hooks in liveroot.py): it is part of the cache key.
RECIPE_VERSION = 2

PACKAGES: tuple[str, ...] = (
    # boot: kernel, init, device manager, the live-boot initramfs (found by boot=live; live-boot
    # itself is removed again once the initramfs is built: see liveroot.py)
    "linux-image-amd64", "systemd-sysv", "udev", "kmod", "live-boot", "live-boot-initramfs-tools",
    "initramfs-tools", "zstd",
    # the installer's runtime: Debian's python with the bindings it imports (libcomps reads comps;
    # python3-dnf pulls it in today, but the catalog imports it itself)
    "python3", "python3-yaml", "python3-parted", "dnf", "python3-dnf", "python3-libcomps", "createrepo-c", "rpm",
    # the lists the Welcome screen offers: time zones (tzdata, also /usr/share/zoneinfo of the installed
    # root), locales (/usr/share/i18n/SUPPORTED from locales), xkb layouts (xkb-data): see
    # installer/localization.py; passwd brings shadow-utils' useradd/chpasswd (installer/accounts.py)
    "tzdata", "locales", "xkb-data",
    # what the installer runs: disks, filesystems, images
    "parted", "fdisk", "util-linux", "mount", "e2fsprogs", "xfsprogs", "dosfstools", "btrfs-progs",
    "squashfs-tools",
    # LUKS2 volumes; the installed system unlocks them in its initramfs, where curl fetches the key
    # from Key Vault (keyvault unlock) and ca-certificates lets it trust the vault; unlock tpm2 enrols
    # with systemd's systemd-cryptenroll, which loads the libtss2 libraries tpm2-tools brings
    "cryptsetup", "cryptsetup-initramfs", "curl", "ca-certificates", "tpm2-tools",
    # software RAID and LVM (storage.raids, storage.volume_groups); their initramfs hooks come along
    # for the image payload, which is this root
    "mdadm", "lvm2",
    # the installed system's boot loader (grub-install runs chrooted in the target)
    "grub-pc-bin", "grub-efi-amd64-bin", "grub2-common",
    # a usable console and network (inst.profile=http://...): DHCP by networkd, DNS by resolved
    "procps", "iproute2", "less", "passwd", "systemd-resolved",
    # the installed system's first-boot provisioning (a cloud_init seed runs it from the target's own
    # packages); switched off on the live medium by iso/rootfs/etc/cloud/cloud-init.disabled
    "cloud-init",
)  # fmt: skip

ModulesPolicy = Literal["most", "list"]

# MODULES=list: what the live initramfs must load to find the medium on the machines the ISO
# is meant for (QEMU IDE/SATA/virtio, Hyper-V/Azure, NVMe, USB sticks). live-boot's own hook
# adds squashfs, overlay, loop, isofs' helpers, sr_mod and every network driver on top.
LIST_MODULES: tuple[str, ...] = (
    "virtio_pci", "virtio_blk", "virtio_scsi", "sr_mod", "cdrom", "ata_piix", "ata_generic", "ahci",
    "sd_mod", "isofs", "squashfs", "overlay", "loop", "nvme", "hv_vmbus", "hv_storvsc",
    "xhci_pci", "ehci_pci", "usb_storage", "uas",
)  # fmt: skip

# The initramfs the live root carries for the systems installed from it as an image (iso/build.py builds it
# after the live one is taken out): installer/steps/initramfs_reuse.py keeps it on a plain layout instead of
# spending minutes under emulation on the same build. The installer's own conf.d text for an ext4 root (a
# test pins the two equal), and a module list holding every VM disk driver (profiles' VM_DRIVERS and Azure's)
# and the filesystems a layout can have.
TARGET_INITRAMFS_CONF = "MODULES=list\nCOMPRESSLEVEL=3\nRESUME=none\nFSTYPE=ext4\n"
TARGET_INITRAMFS_MODULES: tuple[str, ...] = (
    "hv_vmbus", "hv_storvsc", "hv_netvsc", "pci_hyperv", "nvme", "nvme_core", "virtio_blk", "virtio_scsi",
    "virtio_pci", "sd_mod", "ahci", "ata_piix", "ext4", "xfs", "btrfs", "vfat",
)  # fmt: skip


@dataclass(frozen=True)
class LiveRootRecipe:
    """Every input of the cached live root; two equal recipes build the same root."""

    suite: str  # the host's Debian codename, e.g. bookworm
    packages: tuple[str, ...] = PACKAGES
    # "most" by default: a generic initramfs that boots on hardware this list does not know;
    # the measured cost is 11 MB more initrd and 11 s more build, once, when cached.
    modules: ModulesPolicy = "most"
    list_modules: tuple[str, ...] = LIST_MODULES
    version: int = field(default=RECIPE_VERSION)

    def cache_key(self) -> str:
        """A short hash of all inputs; the package order does not matter, duplicates neither."""
        data = asdict(self)
        data["packages"] = sorted(set(self.packages))
        data["list_modules"] = sorted(set(self.list_modules)) if self.modules == "list" else []
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def tarball_name(self) -> str:
        return f"live-root-{self.suite}-{self.cache_key()}.tar.zst"


def initramfs_conf(recipe: LiveRootRecipe) -> str:
    """The initramfs-tools drop-in written before the kernel is installed."""
    return (
        "# azl-installer live root: a generic initramfs (never MODULES=dep, which only fits the\n"
        "# build host) that live-boot uses to find /live/filesystem.squashfs.\n"
        f"MODULES={recipe.modules}\nCOMPRESS=zstd\n"
    )


def initramfs_modules(recipe: LiveRootRecipe) -> str:
    """/etc/initramfs-tools/modules: the forced module list (only read with MODULES=list)."""
    if recipe.modules != "list":
        return ""
    return "".join(f"{name}\n" for name in recipe.list_modules)


class OsReleaseError(ValueError):
    pass


def suite_from_os_release(text: str) -> str:
    """VERSION_CODENAME from /etc/os-release text (values may be quoted)."""
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "VERSION_CODENAME":
            suite = value.strip().strip("\"'")
            if suite:
                return suite
    raise OsReleaseError("/etc/os-release has no VERSION_CODENAME: is this a Debian host?")
