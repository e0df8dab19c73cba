"""From a customized live root to the ISO: squashfs, the ISO tree, GRUB for BIOS, the signed EFI image, xorriso.

ISO layout (outside the squashfs):
  /live/vmlinuz, /live/initrd.img, /live/filesystem.squashfs   what live-boot and GRUB load
  /repo/                                                        the bundled sample RPM repository
  /azl-repo/                                                    the Azure Linux-shaped test distribution (dnf)
  /profiles/*.yaml                                              profiles for unattended VM installs
  /boot/grub/grub.cfg                                           the menu (BIOS and UEFI GRUB read it)
  /boot/grub/i386-pc/                                           GRUB for BIOS (modules, El Torito image)
  /efi.img                                                      the EFI image: shim + signed GRUB (efiboot.py)
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from iso.chroot import run
from iso.efiboot import SignedBoot, efi_image, handover_in_tree
from iso.grubcfg import grub_cfg, menu_entries

VOLUME_LABEL = "AZL_INSTALLER"
PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
UNATTENDED_PROFILES = ("vm-uefi", "vm-bios")  # menu order: vm-uefi is the one a VM test picks

Compression = Literal["zstd", "xz"]


# zstd level 9. Measured on the 800 MB live root (2 cores): level 3 275 MB in 2 s, level 9
# 256 MB in 7 s, level 15 (mksquashfs' default) 242 MB in 45-65 s, level 19 241 MB in 135 s;
# xz 221 MB in 85 s. Level 9 is within 6% of the smallest zstd at a tenth of the time, and
# zstd unpacks several times faster than xz, which counts under emulation: the live boot and
# the install's unsquashfs both read it.
ZSTD_LEVEL = 9


def mksquashfs_argv(root: Path, out: Path, compression: Compression) -> list[str]:
    extra = ["-Xcompression-level", str(ZSTD_LEVEL)] if compression == "zstd" else ["-Xbcj", "x86"]
    return ["mksquashfs", str(root), str(out), "-comp", compression, *extra, "-noappend", "-no-progress",
            "-quiet"]


def make_squashfs(root: Path, out: Path, compression: Compression = "zstd") -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    run(mksquashfs_argv(root, out, compression))
    return out


def populate_tree(tree: Path, *, kernel: Path, initrd: Path, repo: Path,
                  profiles: Sequence[Path], azl_repo: Path | None = None) -> None:
    """Everything on the ISO except the squashfs (made in place by make_squashfs)."""
    live = tree / "live"
    live.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(kernel, live / "vmlinuz")
    shutil.copyfile(initrd, live / "initrd.img")
    if (tree / "repo").exists():
        shutil.rmtree(tree / "repo")
    shutil.copytree(repo, tree / "repo", ignore=shutil.ignore_patterns(".*"))
    shutil.rmtree(tree / "azl-repo", ignore_errors=True)
    if azl_repo is not None:
        # Hard links: the test distribution's repository is a few hundred MB and already in the cache.
        run(["cp", "-al", str(azl_repo), str(tree / "azl-repo")])
    if (tree / "profiles").exists():
        shutil.rmtree(tree / "profiles")
    (tree / "profiles").mkdir()
    for profile in profiles:
        shutil.copyfile(profile, tree / "profiles" / profile.name)
    grub = tree / "boot" / "grub"
    grub.mkdir(parents=True, exist_ok=True)
    (grub / "grub.cfg").write_text(grub_cfg(menu_entries(UNATTENDED_PROFILES)))


GRUB_PC = Path("/usr/lib/grub/i386-pc")


def bios_boot(tree: Path) -> Path:
    """GRUB for BIOS as grub-mkrescue lays it out: the modules in /boot/grub/i386-pc and an El Torito
    core image that finds them on the CD (prefix /boot/grub). Returns the core image."""
    modules = tree / "boot/grub/i386-pc"
    modules.mkdir(parents=True, exist_ok=True)
    for source in [*GRUB_PC.glob("*.mod"), *GRUB_PC.glob("*.lst")]:
        shutil.copyfile(source, modules / source.name)
    image = modules / "eltorito.img"
    run(["grub-mkimage", "-O", "i386-pc-eltorito", "-d", str(GRUB_PC), "-p", "/boot/grub", "-o", str(image),
         "biosdisk", "iso9660"], quiet=True)
    return image


def volume_stamp(now: datetime | None = None) -> str:
    """The ISO's modification date as xorriso takes it (and GRUB turns into the volume's UUID)."""
    return (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S00")


def xorriso_argv(tree: Path, out: Path, stamp: str, label: str = VOLUME_LABEL) -> list[str]:
    """One hybrid image for both firmwares, as grub-mkrescue makes it, but with the EFI image built
    here: El Torito BIOS (GRUB's core image, patched with its own location) and EFI (efi.img, also a
    GPT partition, so the same file boots as a CD or as a disk), GRUB's hybrid MBR."""
    return ["xorriso", "-as", "mkisofs", "-o", str(out), "-volid", label, f"--modification-date={stamp}", "-r",
            "-b", "boot/grub/i386-pc/eltorito.img", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
            "--grub2-boot-info", "--grub2-mbr", str(GRUB_PC / "boot_hybrid.img"),
            "-eltorito-alt-boot", "-e", "efi.img", "-no-emul-boot", "-efi-boot-part", "--efi-boot-image",
            "--protective-msdos-label", str(tree)]


def make_iso(tree: Path, out: Path, boot: SignedBoot, stamp: str | None = None) -> Path:
    """The ISO at out from tree; UEFI boots the signed chain in boot (iso/efiboot.py)."""
    stamp = stamp or volume_stamp()
    bios_boot(tree)
    efi_image(boot, tree / "efi.img", stamp)
    handover_in_tree(boot, tree, stamp)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        run(xorriso_argv(tree, partial, stamp), quiet=True)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return out
