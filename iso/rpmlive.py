"""The RPM-built live root: installed by dnf from a list of repositories and packages, as Azure Linux
builds its own images (KIWI with dnf5 from its RPM repositories; iso/kiwi/ describes the same system).

  1. the live spec (iso/live/*.yaml: a profile's payload section) read with the profile's own checks
  2. dnf installs it into an empty root, through the installer's own payload code (installer/payload):
     the same dnf set-up, dialects and one-line failures an install gets; azl-installer itself comes
     from the RPMs `make rpm` builds, as a repository added to the spec's
  3. image configuration no package carries, from the KIWI description (iso/kiwi: its root/ overlay and
     config.sh, run chrooted): host name, no first-boot prompts, the code precompiled and imported once
  4. the live initramfs: dracut with dmsquash-live, chrooted in the root, for the root's kernel
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from installer.core.events import Event, EventBus
from installer.core.runner import RealRunner
from installer.payload.dnf import PayloadError, run_dnf
from iso.chroot import BuildError, chroot_output, run, run_chroot
from iso.customize import install_overlay
from profiles.convert import Converter
from profiles.model import Payload, Repository

LIVE_DIR = Path(__file__).resolve().parent / "live"
KIWI_DIR = Path(__file__).resolve().parent / "kiwi"  # its root/ overlay and config.sh: the image configuration
CONFIG_SCRIPT_IN_ROOT = "/var/tmp/azl-config.sh"
DEFAULT_SPEC = LIVE_DIR / "testdistro.yaml"
TESTDISTRO_PLACEHOLDER = "@testdistro@"  # in a spec's baseurl: the test distribution's repository
INSTALLER_REPO_ID = "azl-installer-rpms"
INITRD_IN_ROOT = "/var/tmp/azl-live-initrd.img"  # where dracut writes it; moved out, to the ISO's /live/initrd.img
# dracut for any machine (not this build host's), with the live module; the medium may be a CD (sr_mod,
# isofs) or a disk (the hybrid image on a virtio or USB disk), the root a squashfs under an overlayfs.
DRACUT_ARGS = ("--no-hostonly", "--no-hostonly-cmdline", "--add", "dmsquash-live", "--add-drivers",
               "sr_mod isofs squashfs overlay loop virtio_blk virtio_scsi virtio_pci ahci ata_piix",
               "--compress", "zstd", "--force")  # fmt: skip


def load_spec(path: Path, testdistro: Path | None) -> Payload:
    """The spec at path as a Payload; the test distribution's repository replaces @testdistro@."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise BuildError(f"live spec {path}: cannot be read: {str(err).splitlines()[0]}") from err
    converter = Converter()
    payload: Payload = converter.build(Payload, data)
    if converter.problems:
        raise BuildError(f"live spec {path}: {converter.problems[0]}")
    if not payload.packages or not payload.repositories:
        raise BuildError(f"live spec {path}: names no packages or no repositories")
    repositories = []
    for repo in payload.repositories:
        if repo.baseurl == TESTDISTRO_PLACEHOLDER:
            if testdistro is None:
                raise BuildError(f"live spec {path}: {repo.name} needs the test distribution, which was not built")
            repo = Repository(repo.name, baseurl=str(testdistro), gpgcheck=repo.gpgcheck)
        repositories.append(repo)
    return replace(payload, repositories=tuple(repositories))


def with_installer_rpms(payload: Payload, rpm_dir: Path) -> Payload:
    """The payload with the directory of azl-installer's own RPMs as one more repository (made one here)."""
    shutil.rmtree(rpm_dir / "repodata", ignore_errors=True)
    run(["createrepo_c", "-q", str(rpm_dir)], quiet=True)
    local = Repository(INSTALLER_REPO_ID, baseurl=str(rpm_dir), gpgcheck=False)
    return replace(payload, repositories=(*payload.repositories, local))


def _print_event(event: Event) -> None:
    if event.kind == "log" and event.level != "debug":
        print(f"iso: dnf: {event.message}", file=sys.stderr, flush=True)


def install_root(payload: Payload, root: Path, work: Path) -> None:
    """dnf installs payload into root (emptied first), as the installer's payload step would."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    events = EventBus(_print_event)
    try:
        run_dnf(payload, root, RealRunner(events), events, work / "dnf")
    except PayloadError as err:
        raise BuildError(f"the live root could not be installed: {err}") from err


def configure(root: Path, description: Path = KIWI_DIR) -> None:
    """Image configuration no package carries, the same as a KIWI build of iso/kiwi writes: its root/
    overlay copied in, then its config.sh run chrooted (host name, no first-boot prompts, cloud-init off,
    the code precompiled by the root's python and imported once)."""
    install_overlay(root, description / "root")
    script = root / CONFIG_SCRIPT_IN_ROOT.lstrip("/")
    script.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(description / "config.sh", script)
    try:
        run_chroot(root, ["bash", CONFIG_SCRIPT_IN_ROOT], quiet=True)
    finally:
        script.unlink(missing_ok=True)


def kernel_version(root: Path) -> str:
    versions = sorted(p.name for p in (root / "usr/lib/modules").glob("*") if (p / "modules.dep").is_file()
                      or (p / "vmlinuz").is_file())
    if not versions:
        raise BuildError(f"no kernel in {root}/usr/lib/modules: is the kernel package in the live spec?")
    return versions[-1]


def live_initramfs(root: Path, out: Path) -> tuple[Path, Path]:
    """(vmlinuz, initrd) of the root's kernel, the initrd made now by the root's dracut and moved to out
    (it is not part of the live root: the squashfs would carry it twice)."""
    version = kernel_version(root)
    kernel = next((p for p in (root / "boot" / f"vmlinuz-{version}", root / "usr/lib/modules" / version / "vmlinuz")
                   if p.is_file()), None)
    if kernel is None:
        raise BuildError(f"the kernel {version} has no vmlinuz in {root}")
    run_chroot(root, ["dracut", *DRACUT_ARGS, INITRD_IN_ROOT, version], quiet=True)
    listing = chroot_output(root, ["lsinitrd", INITRD_IN_ROOT])
    if "dmsquash-live" not in listing:
        raise BuildError("the live initramfs has no dmsquash-live: is dracut-live in the live spec?")
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(root / INITRD_IN_ROOT.lstrip("/"), out)
    return kernel, out


def build_live_root(spec: Payload, rpm_dir: Path, root: Path, work: Path) -> tuple[Path, Path]:
    """The customized live root at root; returns its (vmlinuz, initrd) for the ISO."""
    install_root(with_installer_rpms(spec, rpm_dir), root, work)
    configure(root)
    return live_initramfs(root, work / "initrd.img")
