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

from iso.chroot import BuildError, run, run_chroot
from iso.efiboot import SignedBoot, efi_image, handover_in_tree
from iso.grubcfg import MenuEntry, grub_cfg, menu_entries

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
                  profiles: Sequence[Path], azl_repo: Path | None = None,
                  menu: Sequence[MenuEntry] | None = None) -> None:
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
    (grub / "grub.cfg").write_text(grub_cfg(menu if menu is not None else menu_entries(UNATTENDED_PROFILES)))


GRUB_PC = Path("/usr/lib/grub/i386-pc")
GRUB_PC_IN_ROOT = "usr/lib/grub/i386-pc"  # where grub2-pc (Fedora's, and the test distribution's) puts it


def grub_pc_dir(root: Path | None) -> Path:
    """GRUB for BIOS: root's (the RPM-built ISO) or this host's."""
    return root / GRUB_PC_IN_ROOT if root is not None else GRUB_PC


def bios_boot(tree: Path, root: Path | None = None) -> Path:
    """GRUB for BIOS as grub-mkrescue lays it out: the modules in /boot/grub/i386-pc and an El Torito
    core image that finds them on the CD (prefix /boot/grub). Returns the core image. With root (the
    RPM-built ISO), the GRUB that root's packages installed, its grub2-mkimage run chrooted there;
    else this host's."""
    source = grub_pc_dir(root)
    if not (source / "kernel.img").is_file():
        raise BuildError(f"no GRUB for BIOS in {source}: is grub2-pc installed there?")
    modules = tree / "boot/grub/i386-pc"
    modules.mkdir(parents=True, exist_ok=True)
    for module in [*source.glob("*.mod"), *source.glob("*.lst")]:
        shutil.copyfile(module, modules / module.name)
    image = modules / "eltorito.img"
    options = ["-O", "i386-pc-eltorito", "-p", "/boot/grub", "biosdisk", "iso9660"]
    if root is None:
        run(["grub-mkimage", "-d", str(GRUB_PC), "-o", str(image), *options], quiet=True)
        return image
    made = root / "var/tmp/azl-eltorito.img"
    run_chroot(root, ["grub2-mkimage", "-d", f"/{GRUB_PC_IN_ROOT}", "-o", "/var/tmp/azl-eltorito.img", *options],
               quiet=True)
    shutil.move(made, image)
    return image


def volume_stamp(now: datetime | None = None) -> str:
    """The ISO's modification date as xorriso takes it (and GRUB turns into the volume's UUID)."""
    return (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S00")


def xorriso_argv(tree: Path, out: Path, stamp: str, label: str = VOLUME_LABEL,
                 hybrid_mbr: Path = GRUB_PC / "boot_hybrid.img") -> list[str]:
    """One hybrid image for both firmwares, as grub-mkrescue makes it, but with the EFI image built
    here: El Torito BIOS (GRUB's core image, patched with its own location) and EFI (efi.img, also a
    GPT partition, so the same file boots as a CD or as a disk), GRUB's hybrid MBR."""
    return ["xorriso", "-as", "mkisofs", "-o", str(out), "-volid", label, f"--modification-date={stamp}", "-r",
            "-b", "boot/grub/i386-pc/eltorito.img", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
            "--grub2-boot-info", "--grub2-mbr", str(hybrid_mbr),
            "-eltorito-alt-boot", "-e", "efi.img", "-no-emul-boot", "-efi-boot-part", "--efi-boot-image",
            "--protective-msdos-label", str(tree)]


def make_iso(tree: Path, out: Path, boot: SignedBoot, stamp: str | None = None, root: Path | None = None) -> Path:
    """The ISO at out from tree; UEFI boots the signed chain in boot (iso/efiboot.py), BIOS the GRUB of
    root's packages (or this host's: bios_boot)."""
    stamp = stamp or volume_stamp()
    bios_boot(tree, root)
    hybrid_mbr = grub_pc_dir(root) / "boot_hybrid.img"
    efi_image(boot, tree / "efi.img", stamp)
    handover_in_tree(boot, tree, stamp)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        run(xorriso_argv(tree, partial, stamp, hybrid_mbr=hybrid_mbr), quiet=True)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return out
