"""The Profile: everything an install needs, typed and frozen.

One Profile comes from a YAML file, an imported kickstart or the interactive UI; the engine
only ever sees this model. Field metadata carries the documentation used by the JSON
Schema and marks secrets, which are removed before a profile is logged or saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Filesystem = Literal["ext4", "xfs", "btrfs", "vfat", "swap", "biosboot", "none"]
BootMode = Literal["uefi", "bios", "both"]


def doc(text: str, **extra: Any) -> dict[str, Any]:
    """Field metadata: a description for the schema and docs, plus flags such as secret."""
    return {"doc": text, **extra}


@dataclass(frozen=True)
class DiskMatch:
    """Chooses a disk by explicit properties; every rule given must hold."""

    path: str | None = field(default=None, metadata=doc("device path, e.g. /dev/vda or /dev/disk/by-id/..."))
    serial: str | None = field(default=None, metadata=doc("the disk's serial number"))
    model: str | None = field(default=None, metadata=doc("the disk's model string (exact match)"))
    min_size: int | None = field(default=None, metadata=doc("smallest acceptable size", size=True))
    max_size: int | None = field(default=None, metadata=doc("largest acceptable size", size=True))


@dataclass(frozen=True)
class Subvolume:
    name: str = field(metadata=doc("btrfs subvolume name"))
    mount: str = field(metadata=doc("mount point"))


@dataclass(frozen=True)
class AutoLayout:
    """ESP and/or BIOS boot partition, /boot, and a root filling the rest of the first disk."""

    filesystem: Literal["ext4", "xfs", "btrfs"] = field(default="xfs", metadata=doc("root filesystem"))
    boot: BootMode = field(default="uefi", metadata=doc("firmware the disk must boot with"))
    boot_size: int = field(default=1024**3, metadata=doc("size of /boot", size=True))
    esp_size: int = field(default=512 * 1024**2, metadata=doc("size of the EFI system partition", size=True))
    subvolumes: tuple[Subvolume, ...] = field(
        default=(), metadata=doc("btrfs only: subvolumes; default root -> / and home -> /home")
    )


@dataclass(frozen=True)
class Partition:
    size: int = field(metadata=doc("size, or the minimum size when grow is true", size=True))
    disk: int = field(default=0, metadata=doc("index into storage.disks"))
    grow: bool = field(default=False, metadata=doc("take the free space left on the disk"))
    mount: str | None = field(default=None, metadata=doc("mount point, e.g. / or /boot"))
    filesystem: Filesystem = field(default="xfs", metadata=doc("filesystem to create"))
    label: str | None = field(default=None, metadata=doc("filesystem label"))
    subvolumes: tuple[Subvolume, ...] = field(default=(), metadata=doc("btrfs only: subvolumes to create"))


@dataclass(frozen=True)
class Storage:
    disks: tuple[DiskMatch, ...] = field(metadata=doc("target disks, each chosen by match rules"))
    leave_alone: tuple[DiskMatch, ...] = field(default=(), metadata=doc("disks that must not be touched"))
    auto: AutoLayout | None = field(default=None, metadata=doc("automatic layout (the default)"))
    partitions: tuple[Partition, ...] = field(default=(), metadata=doc("explicit layout instead of auto"))


@dataclass(frozen=True)
class Repository:
    name: str = field(metadata=doc("repository id"))
    baseurl: str = field(metadata=doc("file://, http:// or https:// URL, or a directory (relative to the profile)"))
    gpgcheck: bool = field(default=True, metadata=doc("verify package signatures"))
    gpgkey: str | None = field(default=None, metadata=doc("URL of the signing key"))


@dataclass(frozen=True)
class RootImage:
    path: str = field(metadata=doc("path of a root filesystem image (.tar, .tar.gz, .tar.zst, .squashfs)"))
    format: Literal["tar", "squashfs"] | None = field(default=None, metadata=doc("guessed from the name if unset"))


@dataclass(frozen=True)
class Payload:
    repositories: tuple[Repository, ...] = field(default=(), metadata=doc("dnf repositories"))
    environment: str | None = field(default=None, metadata=doc("comps environment id"))
    groups: tuple[str, ...] = field(default=(), metadata=doc("comps group ids"))
    packages: tuple[str, ...] = field(default=(), metadata=doc("extra packages"))
    exclude: tuple[str, ...] = field(default=(), metadata=doc("packages never installed"))
    image: RootImage | None = field(default=None, metadata=doc("root filesystem image unpacked first"))
    releasever: str = field(default="4.0", metadata=doc("$releasever for repository URLs"))
    install_weak_deps: bool = field(default=False, metadata=doc("install weak dependencies"))


@dataclass(frozen=True)
class System:
    hostname: str = field(default="azurelinux", metadata=doc("host name"))
    timezone: str = field(default="UTC", metadata=doc("IANA time zone, e.g. Europe/Berlin"))
    locale: str = field(default="C.UTF-8", metadata=doc("LANG value, e.g. en_US.UTF-8"))
    keyboard: str = field(default="us", metadata=doc("console keymap"))


@dataclass(frozen=True)
class User:
    name: str = field(metadata=doc("login name"))
    groups: tuple[str, ...] = field(default=(), metadata=doc("supplementary groups (created if missing)"))
    password_hash: str | None = field(
        default=None, metadata=doc("crypt(3) hash such as $6$... or $y$...; unset = password login disabled")
    )
    ssh_keys: tuple[str, ...] = field(default=(), metadata=doc("authorized SSH public keys"))
    uid: int | None = field(default=None, metadata=doc("numeric user id; next free from 1000 if unset"))
    shell: str = field(default="/bin/bash", metadata=doc("login shell"))
    gecos: str = field(default="", metadata=doc("full name"))


@dataclass(frozen=True)
class Root:
    locked: bool = field(default=True, metadata=doc("lock the root password (the default)"))
    password_hash: str | None = field(default=None, metadata=doc("crypt(3) hash; needs locked: false"))
    ssh_keys: tuple[str, ...] = field(default=(), metadata=doc("authorized SSH public keys for root"))


@dataclass(frozen=True)
class Script:
    body: str = field(metadata=doc("script text"))
    interpreter: str = field(default="/bin/sh", metadata=doc("interpreter path"))
    chroot: bool = field(default=True, metadata=doc("post scripts: run inside the target"))
    name: str | None = field(default=None, metadata=doc("name shown in progress and logs"))


@dataclass(frozen=True)
class Scripts:
    pre: tuple[Script, ...] = field(default=(), metadata=doc("run before storage is touched"))
    post: tuple[Script, ...] = field(default=(), metadata=doc("run after the system is configured"))


# Microsoft's guidance for Linux on Azure: serial console first, and patience for slow disks.
AZURE_CMDLINE = ("console=tty1", "console=ttyS0,115200n8", "earlyprintk=ttyS0", "rootdelay=300", "net.ifnames=0")
# Drivers a VM's initramfs needs to find its root disk on Hyper-V/Azure and on QEMU.
VM_DRIVERS = ("hv_vmbus", "hv_storvsc", "hv_netvsc", "nvme", "nvme_core", "virtio_blk", "virtio_scsi", "virtio_pci",
              "sd_mod", "ahci")


@dataclass(frozen=True)
class Bootloader:
    """GRUB (with shim where the target has it) and the initramfs, made by the target's own tools."""

    enabled: bool = field(default=True, metadata=doc("install a boot loader and build the initramfs"))
    cmdline: tuple[str, ...] = field(default=AZURE_CMDLINE, metadata=doc("kernel command line (Azure defaults)"))
    extra_cmdline: tuple[str, ...] = field(default=(), metadata=doc("appended to cmdline"))
    timeout: int = field(default=1, metadata=doc("seconds the GRUB menu waits"))
    initramfs_drivers: tuple[str, ...] = field(default=VM_DRIVERS, metadata=doc("drivers always in the initramfs"))


@dataclass(frozen=True)
class Encryption:
    """Placeholder, validated now and applied by a later version: see the encryption issue."""

    enabled: bool = field(default=False, metadata=doc("encrypt the root volume with LUKS2"))
    key_source: Literal["passphrase", "keyvault-secret", "keyvault-key"] = field(
        default="passphrase", metadata=doc("where the volume key comes from")
    )
    passphrase: str | None = field(default=None, metadata=doc("passphrase (secret)", secret=True))
    vault_url: str | None = field(default=None, metadata=doc("https URL of the Key Vault"))
    key_name: str | None = field(default=None, metadata=doc("Key Vault secret or key name"))


@dataclass(frozen=True)
class CloudInit:
    """Placeholder, validated now and applied by a later version: see the Azure issue."""

    user_data: str | None = field(default=None, metadata=doc("#cloud-config user-data"))
    datasources: tuple[str, ...] = field(default=(), metadata=doc("datasource_list, e.g. [Azure]"))


@dataclass(frozen=True)
class Azure:
    """Placeholder, validated now and applied by a later version: see the Azure issue."""

    enabled: bool = field(default=False, metadata=doc("configure the target for Azure"))
    kernel: str = field(default="kernel", metadata=doc("kernel package"))
    agent: bool = field(default=True, metadata=doc("install and configure WALinuxAgent"))


@dataclass(frozen=True)
class Profile:
    storage: Storage = field(metadata=doc("disks and layout"))
    payload: Payload = field(default_factory=Payload, metadata=doc("what to install"))
    system: System = field(default_factory=System, metadata=doc("host name, time zone, locale, keyboard"))
    users: tuple[User, ...] = field(default=(), metadata=doc("users to create"))
    root: Root = field(default_factory=Root, metadata=doc("the root account"))
    bootloader: Bootloader = field(default_factory=Bootloader, metadata=doc("boot loader and initramfs"))
    scripts: Scripts = field(default_factory=Scripts, metadata=doc("pre and post install scripts"))
    encryption: Encryption | None = field(default=None, metadata=doc("not applied yet"))
    cloud_init: CloudInit | None = field(default=None, metadata=doc("not applied yet"))
    azure: Azure | None = field(default=None, metadata=doc("not applied yet"))
    version: int = field(default=1, metadata=doc("profile format version"))
