"""`make bench`, part testdistro: the payload step against bare dnf (dnf 4 and dnf5, side by side in one
run) on the Azure Linux test distribution's server set, and a whole install into a disk image against a raw
copy of the same installed bytes.

Root (loop device, chroots). Needs build/azl-repo (`make testdistro`) and the dnf5 root (`make dnf5-root`).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from installer.core.events import EventBus
from installer.core.runner import RealRunner, Runner
from installer.payload.bench import bare_dnf_seconds
from installer.payload.dnf import RPM_DBPATH
from profiles.model import Payload, Repository
from tests.support.benchkit import (
    TOP,
    Inputs,
    Report,
    install_from_profile,
    installed,
    payload_step,
    side_by_side,
    slowest_steps,
    warm,
)
from tests.support.dnf5_root import ChrootRunner, cached_tarball, chroot_prefix, unpack


def _payload(inputs: Inputs) -> Payload:
    return Payload(repositories=(Repository("azl-test", inputs.distro_repo.as_uri(), gpgcheck=False),),
                   groups=inputs.distro_groups, packages=inputs.distro_packages)


def _specs(inputs: Inputs) -> list[str]:
    return [*(f"@{g}" for g in inputs.distro_groups), *inputs.distro_packages]


def install_profile(inputs: Inputs) -> str:
    """The whole install's profile: BIOS (the image replaces the disk), the same payload as the ratios'."""
    return (f"version: 1\nstorage: {{disks: [{{path: /dev/vda}}], auto: {{filesystem: ext4, boot: bios}}}}\n"
            f"payload:\n  repositories: [{{name: azl-test, baseurl: {inputs.distro_repo}, gpgcheck: false}}]\n"
            f"  groups: [{', '.join(inputs.distro_groups)}]\n  packages: [{', '.join(inputs.distro_packages)}]\n"
            f"{inputs.distro_install_extra}\n")


def bare_dnf5_seconds(inputs: Inputs, chroot: Path, work: Path) -> float:
    """The bare dnf5 command (FACTS.md's, in dnf5's spelling) for the same set, run in the sid root."""
    root, home, cache = work / "bare5-root", work / "bare5-home", work / "bare5-cache"
    for directory in (root, home, cache):
        directory.mkdir(parents=True)
    (home / ".rpmmacros").write_text(f"%_dbpath {RPM_DBPATH}\n")
    argv = ["dnf5", "-y", f"--installroot={root}", "--releasever=4.0", "--setopt=reposdir=/nonexistent",
            f"--repofrompath=azl,{inputs.distro_repo.as_uri()}", "--repo=azl", "--setopt=azl.pkg_gpgcheck=0",
            "--setopt=install_weak_deps=False", f"--setopt=cachedir={cache}", "install", *_specs(inputs)]
    started = time.monotonic()
    subprocess.run([*chroot_prefix(chroot, (work, inputs.distro_repo)), *argv], env={**os.environ, "HOME": str(home)},
                   capture_output=True, text=True, check=True)
    return time.monotonic() - started


def raw_copy_seconds(image: Path) -> float:
    """Writing the same bytes without installing: a sparse copy of the finished image, flushed to disk."""
    copy = image.with_name("copy.img")
    started = time.monotonic()
    subprocess.run(["cp", "--sparse=always", str(image), str(copy)], check=True)
    subprocess.run(["sync", str(copy)], check=True)
    seconds = time.monotonic() - started
    copy.unlink()
    return seconds


def payload_ratio(report: Report, inputs: Inputs, dialect: str, runner: Runner, work: Path) -> None:
    """One dialect's ratio: the payload step through runner against the same dialect's bare command."""
    seen: list[tuple[list[str], int]] = []

    def ours(where: Path) -> float:
        seconds = payload_step(_payload(inputs), runner, where)
        if not seen:
            seen.append(installed(where / "root"))
        return seconds

    def bare_run(where: Path) -> float:
        if dialect == "dnf4":
            return bare_dnf_seconds(inputs.distro_repo.as_uri(), _specs(inputs), where)
        return bare_dnf5_seconds(inputs, work / "sid", where)

    step, baseline = side_by_side(ours, bare_run, inputs.payload_repeats, work / dialect)
    report.ratio(f"payload-testdistro-{dialect}", step, baseline, 1.1)
    names, size = seen[0]
    report.number(f"{dialect}: test distribution payload of {len(names)} packages ({size / 1e6:.0f} MB installed): "
                  f"payload step {step:.1f} s, bare {'dnf' if dialect == 'dnf4' else 'dnf5'} --installroot "
                  f"{baseline:.1f} s (medians of {inputs.payload_repeats})")


def part(report: Report, inputs: Inputs, work: Path) -> None:
    if not (inputs.distro_repo / "repodata/repomd.xml").is_file():
        raise FileNotFoundError(f"no repository in {inputs.distro_repo}: run `make testdistro` first")
    warm(inputs.distro_repo)
    payload_ratio(report, inputs, "dnf4", RealRunner(EventBus()), work)
    chroot = unpack(cached_tarball(), work / "sid")
    runner = ChrootRunner(RealRunner(EventBus()), chroot, (work, inputs.distro_repo, TOP / "installer/data"))
    runner.run(["dnf5", "--version"])  # the root was just unpacked: its first start reads dnf5 from disk
    payload_ratio(report, inputs, "dnf5", runner, work)
    profile = work / "install.yaml"
    profile.write_text(install_profile(inputs))
    total, events = install_from_profile(profile, work / "disk.img", inputs.distro_image_size, work)
    copy = raw_copy_seconds(work / "disk.img")
    used = int(subprocess.run(["du", "-B1", str(work / "disk.img")], capture_output=True, text=True,
                              check=True).stdout.split()[0])
    report.ratio("install-vs-raw-copy", total, copy, 1.3)
    report.number(f"whole install into a {inputs.distro_image_size} image (BIOS, initramfs, SELinux labelled where "
                  f"enforcing): {total:.1f} s (slowest steps: {slowest_steps(events)}); raw copy of the same "
                  f"{used / 1e6:.0f} MB: {copy:.1f} s")
