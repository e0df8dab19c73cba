"""The live root: built once by mmdebstrap, cached as a tarball, unpacked for each ISO build.

mmdebstrap gets no mirror argument, so this project names no package host: the suite's
default sources are used. The tarball's name is the recipe's cache key, so a second build
on the same machine (same suite, packages, recipe version) skips mmdebstrap entirely.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from iso.chroot import BuildError, chroot_output, run, run_chroot
from iso.recipe import (
    TARGET_INITRAMFS_CONF,
    TARGET_INITRAMFS_MODULES,
    LiveRootRecipe,
    initramfs_conf,
    initramfs_modules,
)

DEFAULT_CACHE_DIR = Path("/var/cache/azl-installer")

# Left out of every package: documentation (but the licences), manual pages and translations.
_DPKG_EXCLUDES = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
)


def essential_hook(recipe: LiveRootRecipe) -> str:
    """Shell run after the essential packages, before the kernel: the initramfs policy must be
    in place when the kernel's postinst (and live-boot's trigger) builds the one initramfs."""
    conf, modules = initramfs_conf(recipe), initramfs_modules(recipe)
    return (
        'mkdir -p "$1/etc/initramfs-tools/conf.d" && '
        f'printf %s {shlex.quote(conf)} > "$1/etc/initramfs-tools/conf.d/50-azl-live.conf"'
        + (f' && printf %s {shlex.quote(modules)} > "$1/etc/initramfs-tools/modules"' if modules else "")
    )


# After the kernel's postinst built the live initramfs: live-boot is removed from the root again.
# The root is also the payload of an install, and there live-boot's initramfs hook (which pulls
# in every network driver, among others) made the target's update-initramfs take 7 minutes
# under emulation. /boot/initrd.img keeps its live-boot copy because update-initramfs is off
# while the packages go; the ISO's /live/initrd.img is taken from there.
_DROP_LIVE_BOOT = (
    'conf="$1/etc/initramfs-tools/update-initramfs.conf" && '
    'sed -i "s/^update_initramfs=.*/update_initramfs=no/" "$conf" && '
    'chroot "$1" dpkg --purge live-boot live-boot-initramfs-tools && '
    'sed -i "s/^update_initramfs=.*/update_initramfs=yes/" "$conf"'
)


def mmdebstrap_argv(recipe: LiveRootRecipe, out: Path) -> list[str]:
    """The mmdebstrap command writing the live root as a zstd tarball (format from out's name)."""
    return [
        "mmdebstrap", "--mode=root", "--variant=apt", "--arch=amd64",
        f"--include={','.join(recipe.packages)}",
        "--aptopt=APT::Install-Recommends \"false\"",
        *(f"--dpkgopt={option}" for option in _DPKG_EXCLUDES),
        f"--essential-hook={essential_hook(recipe)}",
        f"--customize-hook={_DROP_LIVE_BOOT}",
        recipe.suite, str(out),
    ]  # fmt: skip


def cached_root(recipe: LiveRootRecipe, cache_dir: Path = DEFAULT_CACHE_DIR, *, rebuild: bool = False) -> Path:
    """The live root tarball for recipe: from the cache, or built now and then cached."""
    tarball = cache_dir / recipe.tarball_name()
    if tarball.is_file() and not rebuild:
        print(f"iso: live root from cache: {tarball}", file=sys.stderr)
        return tarball
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name and renamed: an interrupted build never leaves a
    # truncated tarball that a later build would take for a finished one.
    partial = cache_dir / f".partial-{os.getpid()}-{recipe.tarball_name()}"
    try:
        run(mmdebstrap_argv(recipe, partial))
        os.replace(partial, tarball)
    finally:
        partial.unlink(missing_ok=True)
    _prune(cache_dir, recipe.suite, keep=tarball)
    return tarball


def _prune(cache_dir: Path, suite: str, keep: Path) -> None:
    # Old roots of the same suite are 250+ MB each and never used again once the recipe changed.
    for old in cache_dir.glob(f"live-root-{suite}-*.tar.zst"):
        if old != keep:
            old.unlink(missing_ok=True)


def unpack_root(tarball: Path, dest: Path) -> None:
    """A fresh copy of the cached root at dest (anything there before is removed)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    run(["tar", "--zstd", "-xpf", str(tarball), "-C", str(dest), "--numeric-owner",
         "--xattrs", "--xattrs-include=*"])


def kernel_files(root: Path) -> tuple[Path, Path]:
    """(vmlinuz, initrd.img) of the newest kernel in root's /boot."""
    kernels = sorted(root.glob("boot/vmlinuz-*"), key=lambda p: _version_key(p.name.removeprefix("vmlinuz-")))
    if not kernels:
        raise BuildError(f"no kernel in {root}/boot: is linux-image-amd64 in the recipe?")
    version = kernels[-1].name.removeprefix("vmlinuz-")
    initrd = root / "boot" / f"initrd.img-{version}"
    if not initrd.is_file():
        raise BuildError(f"no initramfs {initrd}: did initramfs-tools run in the live root?")
    return kernels[-1], initrd


def prebuild_target_initramfs(root: Path, initrd: Path, live_copy: Path) -> Path:
    """Keep the live-boot initramfs at live_copy (the ISO boots with it), then build in root, with the
    installer's configuration, the one the systems installed from this root as an image keep
    (installer/steps/initramfs_reuse.py); live-boot left the root after the live one was built, so it is not
    in this one. Returns live_copy."""
    shutil.copy2(initrd, live_copy)
    conf = root / "etc/initramfs-tools/conf.d/90-azl-installer.conf"
    conf.write_text(TARGET_INITRAMFS_CONF)
    (root / "etc/initramfs-tools/modules").write_text("".join(f"{m}\n" for m in TARGET_INITRAMFS_MODULES))
    kver = initrd.name.removeprefix("initrd.img-")
    run_chroot(root, ["update-initramfs", "-u", "-k", kver], quiet=True)
    return live_copy


def check_live_initramfs(root: Path, initrd: Path) -> None:
    """The ISO cannot boot without live-boot in its initramfs: refuse to build one that lacks it."""
    listing = chroot_output(root, ["lsinitramfs", f"/{initrd.relative_to(root)}"])
    # scripts/live is what the initramfs' init runs for boot=live (instead of scripts/local).
    if "scripts/live" not in listing.split():
        raise BuildError(f"{initrd} has no live-boot (scripts/live): was it rebuilt after live-boot was removed?")


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    parts = version.replace("-", ".").split(".")
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in parts)
