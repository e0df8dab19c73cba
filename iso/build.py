"""Build the installer ISO: `python -m iso.build --out build/azl-installer.iso` (as root).

  1. live root: mmdebstrap of the host's Debian suite, cached in /var/cache/azl-installer
  2. the installer, its PyPI dependencies (cached too), the launcher and live-only units put
     in, precompiled in the chroot
  3. squashfs of the root; kernel and live-boot initramfs taken from its /boot
  4. sample RPM repository, VM profiles and grub.cfg beside it; GRUB for BIOS, and for UEFI the
     test distribution's signed shim and GRUB (Secure Boot); xorriso writes the hybrid image
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import get_args

from iso.assemble import PROFILES_DIR, Compression, make_iso, make_squashfs, populate_tree
from iso.chroot import BuildError, Timer
from iso.customize import customize
from iso.efiboot import signed_boot_from_repo
from iso.liveroot import DEFAULT_CACHE_DIR, cached_root, check_live_initramfs, kernel_files, unpack_root
from iso.pydeps import cached_site_packages
from iso.recipe import LiveRootRecipe, ModulesPolicy, OsReleaseError, suite_from_os_release
from sample.build_repo import BuildError as RepoBuildError
from sample.build_repo import build_repo
from sample.testdistro.build import build_repo as testdistro_repo
from sample.testdistro.recipe import Recipe
from sample.testdistro.rpms import RpmBuildError

WORK_DIR_NAME = "iso-work"  # the default scratch space, beside the ISO
REQUIRED_TOOLS = ("mmdebstrap", "mksquashfs", "grub-mkimage", "xorriso", "mkfs.vfat", "mmd", "mcopy", "rpm2cpio",
                  "unshare", "tar", "zstd", "createrepo_c", "rpmbuild")
GRUB_PLATFORMS = (Path("/usr/lib/grub/i386-pc"),)


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


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.0f} MB"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iso.build", description=__doc__.split("\n")[0] if __doc__
                                     else None)
    parser.add_argument("--out", type=Path, required=True, help="the ISO file to write")
    parser.add_argument("--work-dir", type=Path, help=f"scratch space, about 2 GB (default: {WORK_DIR_NAME} in "
                        "the directory of --out)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, help="where live roots are cached")
    parser.add_argument("--modules", choices=get_args(ModulesPolicy), default="most",
                        help="initramfs MODULES= policy of the live root (default: most)")
    parser.add_argument("--compression", choices=get_args(Compression), default="zstd",
                        help="squashfs compression (default: zstd)")
    parser.add_argument("--rebuild-root", action="store_true", help="run mmdebstrap even if the root is cached")
    args = parser.parse_args(argv)
    try:
        build_iso(args.out, work_dir=args.work_dir, cache_dir=args.cache_dir, recipe=host_recipe(args.modules),
                  compression=args.compression, rebuild_root=args.rebuild_root)
    except (BuildError, RepoBuildError, OsReleaseError, RpmBuildError, subprocess.CalledProcessError) as err:
        print(f"iso: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
