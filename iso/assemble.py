"""From a customized live root to the ISO: squashfs, the ISO tree, grub-mkrescue.

ISO layout (outside the squashfs):
  /live/vmlinuz, /live/initrd.img, /live/filesystem.squashfs   what live-boot and GRUB load
  /repo/                                                        the bundled sample RPM repository
  /azl-repo/                                                    the Azure Linux-shaped test distribution (dnf)
  /profiles/*.yaml                                              profiles for unattended VM installs
  /boot/grub/grub.cfg                                           the menu; grub-mkrescue adds the rest
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from iso.chroot import run
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


def grub_mkrescue_argv(tree: Path, out: Path, label: str = VOLUME_LABEL) -> list[str]:
    # One image for both firmwares: El Torito BIOS (i386-pc) plus an EFI system partition
    # image (x86_64-efi), and an MBR so the same file also boots as a disk (isohybrid).
    # Arguments after "--" go to xorriso.
    return ["grub-mkrescue", "-o", str(out), str(tree), "--", "-volid", label]


def make_iso(tree: Path, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        run(grub_mkrescue_argv(tree, partial), quiet=True)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return out
