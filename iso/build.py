"""Build the installer ISO: `python -m iso.build --out build/azl-installer.iso [--from rpm]` (as root).

Two builds of the same hybrid BIOS/UEFI ISO (same layout, menu entries and inst.* options):

--from debian (the default while the RPM build proves itself, then the fallback):
  1. live root: mmdebstrap of the host's Debian suite, cached in /var/cache/azl-installer
  2. the installer, its PyPI dependencies (cached too), the launcher and live-only units put
     in, precompiled in the chroot
  3. squashfs of the root; kernel and live-boot initramfs taken from its /boot
  4. sample RPM repository, VM profiles and grub.cfg beside it; GRUB for BIOS, and for UEFI the
     test distribution's signed shim and GRUB (Secure Boot); xorriso writes the hybrid image

--from rpm (as Azure Linux builds its images; iso/rpmlive.py):
  1. the test distribution's repository and azl-installer's own RPMs (`make rpm`)
  2. dnf installs the live spec (--live, iso/live/testdistro.yaml) into the live root; dracut makes
     its live initramfs (dmsquash-live)
  3. squashfs, and the same ISO tree, with GRUB for BIOS and the signed shim and GRUB from the root
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, get_args

from iso.assemble import PROFILES_DIR, VOLUME_LABEL, Compression, make_iso, make_squashfs, populate_tree
from iso.chroot import BuildError, Timer
from iso.customize import customize
from iso.efiboot import signed_boot_from_repo, signed_boot_from_root
from iso.grubcfg import dracut_live_args, menu_entries
from iso.liveroot import (
    DEFAULT_CACHE_DIR,
    cached_root,
    check_live_initramfs,
    kernel_files,
    prebuild_target_initramfs,
    unpack_root,
)
from iso.pydeps import cached_site_packages
from iso.recipe import LiveRootRecipe, ModulesPolicy, OsReleaseError, suite_from_os_release
from iso.rpmbuild import build_rpms
from iso.rpmlive import DEFAULT_SPEC, build_live_root, load_spec
from sample.build_repo import BuildError as RepoBuildError
from sample.build_repo import build_repo
from sample.testdistro.build import build_repo as testdistro_repo
from sample.testdistro.recipe import Recipe
from sample.testdistro.rpms import RpmBuildError

WORK_DIR_NAME = "iso-work"  # the default scratch space, beside the ISO
REQUIRED_TOOLS = ("mmdebstrap", "mksquashfs", "grub-mkimage", "xorriso", "mkfs.vfat", "mmd", "mcopy", "rpm2cpio",
                  "unshare", "tar", "zstd", "createrepo_c", "rpmbuild")
GRUB_PLATFORMS = (Path("/usr/lib/grub/i386-pc"),)
Source = Literal["debian", "rpm"]
# The RPM-built ISO's unattended entries: its live system installs through dnf, so the profiles that
# install the ISO's own squashfs as an image (vm-uefi, vm-bios: Debian's root) are left out.
RPM_UNATTENDED_PROFILES = ("azl-vm-uefi", "azl-vm-bios")


def check_host() -> None:
    if os.geteuid() != 0:
        raise BuildError("the ISO build must run as root (mmdebstrap --mode=root, chroot)")
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    missing += [str(p) for p in GRUB_PLATFORMS if not p.is_dir()]
    if missing:
        raise BuildError(f"missing on this host: {', '.join(missing)}; run: bash scripts/setup-host.sh")


def host_recipe(modules: ModulesPolicy = "most") -> LiveRootRecipe:
    return LiveRootRecipe(suite=suite_from_os_release(Path("/etc/os-release").read_text()), modules=modules)


def build_iso(
    out: Path,
    *,
    work_dir: Path | None = None,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    recipe: LiveRootRecipe | None = None,
    compression: Compression = "zstd",
    rebuild_root: bool = False,
) -> Path:
    """Build the hybrid BIOS/UEFI installer ISO at out (scratch space: work_dir, by default
    iso-work beside out); returns out."""
    check_host()
    work_dir = work_dir or out.parent / WORK_DIR_NAME
    recipe = recipe or host_recipe()
    timer = Timer()
    tarball = cached_root(recipe, cache_dir, rebuild=rebuild_root)
    timer.lap("live root (mmdebstrap or cache)")
    root, tree = work_dir / "root", work_dir / "tree"
    unpack_root(tarball, root)
    timer.lap("unpack live root")
    site_packages = cached_site_packages(cache_dir)
    timer.lap("python dependencies (pip or cache)")
    customize(root, site_packages)
    timer.lap("installer and launcher into the root, compileall")
    kernel, initrd = kernel_files(root)
    check_live_initramfs(root, initrd)
    initrd = prebuild_target_initramfs(root, initrd, work_dir / "live-initrd.img")
    timer.lap("the installed systems' initramfs (update-initramfs in the root)")
    squashfs = make_squashfs(root, tree / "live" / "filesystem.squashfs", compression)
    timer.lap(f"squashfs ({compression})")
    azl_repo = testdistro_repo(Recipe(), cache_dir, work_dir / "testdistro-work")
    timer.lap("test distribution repository (built or cache)")
    repo = build_repo(work_dir / "sample-repo")
    populate_tree(tree, kernel=kernel, initrd=initrd, repo=repo, profiles=sorted(PROFILES_DIR.glob("*.yaml")),
                  azl_repo=azl_repo)
    make_iso(tree, out, signed_boot_from_repo(azl_repo))
    timer.lap("sample repository, ISO tree, GRUB, signed EFI image, xorriso")
    total = sum(seconds for _, seconds in timer.stages)
    print(f"iso: {out}: {_mb(out)} (squashfs {_mb(squashfs)}, initrd {_mb(initrd)}); {total:.0f} s in all",
          file=sys.stderr)
    return out


def build_rpm_iso(
    out: Path,
    *,
    work_dir: Path | None = None,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    spec_path: Path = DEFAULT_SPEC,
    rpm_dir: Path | None = None,
    compression: Compression = "zstd",
) -> Path:
    """The same ISO with its live root installed by dnf from RPM repositories (iso/rpmlive.py); rpm_dir:
    azl-installer's RPMs, built now (into the work directory) when not given."""
    check_host()
    work_dir = work_dir or out.parent / WORK_DIR_NAME
    timer = Timer()
    azl_repo = testdistro_repo(Recipe(), cache_dir, work_dir / "testdistro-work")
    timer.lap("test distribution repository (built or cache)")
    spec = load_spec(spec_path, azl_repo)
    if rpm_dir is None:
        rpm_dir = work_dir / "rpm"
        build_rpms(rpm_dir, cache_dir)
        timer.lap("azl-installer RPMs (make rpm)")
    root, tree = work_dir / "rpm-root", work_dir / "rpm-tree"
    kernel, initrd = build_live_root(spec, rpm_dir, root, work_dir)
    timer.lap("live root (dnf), its configuration and live initramfs (dracut)")
    squashfs = make_squashfs(root, tree / "live" / "filesystem.squashfs", compression)
    timer.lap(f"squashfs ({compression})")
    repo = build_repo(work_dir / "sample-repo")
    profiles = [PROFILES_DIR / f"{name}.yaml" for name in RPM_UNATTENDED_PROFILES]
    menu = menu_entries(RPM_UNATTENDED_PROFILES, dracut_live_args(VOLUME_LABEL))
    populate_tree(tree, kernel=kernel, initrd=initrd, repo=repo, profiles=profiles, azl_repo=azl_repo, menu=menu)
    make_iso(tree, out, signed_boot_from_root(root), root=root)
    timer.lap("sample repository, ISO tree, GRUB and the signed EFI image from the root, xorriso")
    total = sum(seconds for _, seconds in timer.stages)
    print(f"iso: {out}: {_mb(out)} (squashfs {_mb(squashfs)}, initrd {_mb(initrd)}); {total:.0f} s in all",
          file=sys.stderr)
    return out


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.0f} MB"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iso.build", description=__doc__.split("\n")[0] if __doc__
                                     else None)
    parser.add_argument("--out", type=Path, required=True, help="the ISO file to write")
    parser.add_argument("--from", dest="source", choices=get_args(Source), default="debian",
                        help="where the live system comes from: Debian packages (mmdebstrap; the default) or RPM "
                        "repositories (dnf, as Azure Linux builds its images)")
    parser.add_argument("--live", type=Path, default=DEFAULT_SPEC, metavar="FILE",
                        help="--from rpm: the live system's repositories and packages (default: "
                        "iso/live/testdistro.yaml)")
    parser.add_argument("--rpm-dir", type=Path, metavar="DIR",
                        help="--from rpm: azl-installer's RPMs, already built (`make rpm`); default: built now")
    parser.add_argument("--work-dir", type=Path, help=f"scratch space, about 2 GB (default: {WORK_DIR_NAME} in "
                        "the directory of --out)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, help="where live roots are cached")
    parser.add_argument("--modules", choices=get_args(ModulesPolicy), default="most",
                        help="--from debian: initramfs MODULES= policy of the live root (default: most)")
    parser.add_argument("--compression", choices=get_args(Compression), default="zstd",
                        help="squashfs compression (default: zstd)")
    parser.add_argument("--rebuild-root", action="store_true",
                        help="--from debian: run mmdebstrap even if the root is cached")
    args = parser.parse_args(argv)
    try:
        if args.source == "rpm":
            build_rpm_iso(args.out, work_dir=args.work_dir, cache_dir=args.cache_dir, spec_path=args.live,
                          rpm_dir=args.rpm_dir, compression=args.compression)
        else:
            build_iso(args.out, work_dir=args.work_dir, cache_dir=args.cache_dir, recipe=host_recipe(args.modules),
                      compression=args.compression, rebuild_root=args.rebuild_root)
    except (BuildError, RepoBuildError, OsReleaseError, RpmBuildError, subprocess.CalledProcessError) as err:
        print(f"iso: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
