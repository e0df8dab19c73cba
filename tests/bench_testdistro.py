"""`make bench`, Azure Linux test distribution: the payload step against bare dnf (dnf 4 and dnf5, side by
side in one run), and a whole install into a disk image against a raw copy of the same installed bytes.

Run as root (loop device, chroots). Needs build/azl-repo (`make testdistro`) and the dnf5 root
(`make dnf5-root`). Prints one line per measurement and the ratios.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from installer.core.events import EventBus
from installer.core.runner import RealRunner, Runner
from installer.payload import install_payload
from installer.payload.bench import bare_dnf_seconds
from installer.payload.dnf import RPM_DBPATH
from profiles.model import Payload, Repository
from tests.support.dnf5_root import ChrootRunner, cached_tarball, chroot_prefix, unpack

TOP = Path(__file__).parents[1]
REPO = TOP / "build/azl-repo"
GROUPS = ("core", "azure-vm-server")
PACKAGES = ("grub2-pc", "grub2-tools", "dracut", "selinux-policy-targeted", "policycoreutils")
PROFILE = f"""version: 1
storage: {{disks: [{{path: /dev/vda}}], auto: {{filesystem: ext4, boot: bios}}}}  # the image replaces the disk
payload:
  repositories: [{{name: azl-test, baseurl: {REPO}, gpgcheck: false}}]
  groups: [{", ".join(GROUPS)}]
  packages: [{", ".join(PACKAGES)}]
system: {{hostname: bench, selinux: enforcing}}
"""


def _payload() -> Payload:
    return Payload(repositories=(Repository("azl-test", REPO.as_uri(), gpgcheck=False),), groups=GROUPS,
                   packages=PACKAGES)


def payload_step(runner: Runner, work: Path) -> tuple[float, int, int]:
    """Seconds the payload step takes into a fresh root, the packages it installed, their size on disk."""
    root = work / "root"
    root.mkdir(parents=True)
    started = time.monotonic()
    install_payload(_payload(), root, runner, EventBus(), work / "scratch")
    seconds = time.monotonic() - started
    count = len(subprocess.run(["rpm", "--root", str(root), "--dbpath", RPM_DBPATH, "-qa"], capture_output=True,
                               text=True, check=True).stdout.split())
    size = int(subprocess.run(["du", "-sb", str(root)], capture_output=True, text=True, check=True).stdout.split()[0])
    return seconds, count, size


def bare_dnf5_seconds(chroot: Path, work: Path) -> float:
    """The bare dnf5 command (FACTS.md's, in dnf5's spelling) for the same set, run in the sid root."""
    root, home, cache = work / "bare5-root", work / "bare5-home", work / "bare5-cache"
    for directory in (root, home, cache):
        directory.mkdir(parents=True)
    (home / ".rpmmacros").write_text(f"%_dbpath {RPM_DBPATH}\n")
    argv = ["dnf5", "-y", f"--installroot={root}", "--releasever=4.0", "--setopt=reposdir=/nonexistent",
            f"--repofrompath=azl,{REPO.as_uri()}", "--repo=azl", "--setopt=azl.pkg_gpgcheck=0",
            "--setopt=install_weak_deps=False", f"--setopt=cachedir={cache}",
            "install", *(f"@{g}" for g in GROUPS), *PACKAGES]  # fmt: skip
    started = time.monotonic()
    subprocess.run([*chroot_prefix(chroot, (work, REPO)), *argv], env={**os.environ, "HOME": str(home)},
                   capture_output=True, text=True, check=True)
    return time.monotonic() - started


def whole_install(work: Path) -> tuple[float, Path]:
    work.mkdir(parents=True, exist_ok=True)
    profile = work / "bench.yaml"
    profile.write_text(PROFILE)
    image = work / "disk.img"
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "installer", "install", "--profile", str(profile), "--target-image",
                    str(image), "--image-size", "6GiB", "--yes", "--log-dir", str(work / "logs")],
                   check=True, capture_output=True, cwd=TOP)
    return time.monotonic() - started, image


def raw_copy_seconds(image: Path) -> float:
    """Writing the same bytes without installing: a sparse copy of the finished image, flushed to disk."""
    copy = image.with_name("copy.img")
    started = time.monotonic()
    subprocess.run(["cp", "--sparse=always", str(image), str(copy)], check=True)
    subprocess.run(["sync", str(copy)], check=True)
    seconds = time.monotonic() - started
    copy.unlink()
    return seconds


def main() -> int:
    if os.geteuid() != 0:
        print("bench_testdistro: run as root (loop device, chroots)", file=sys.stderr)
        return 2
    if not (REPO / "repodata/repomd.xml").is_file():
        print(f"bench_testdistro: no {REPO}: run `make testdistro` first", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="azl-bench-td-", dir="/var/tmp") as tmp:
        work = Path(tmp)
        step4, count, size = payload_step(RealRunner(EventBus()), work / "step4")
        bare4 = bare_dnf_seconds(REPO.as_uri(), [*(f"@{g}" for g in GROUPS), *PACKAGES], work / "bare4")
        print(f"test distribution payload: {count} packages, {size / 1e6:.0f} MB installed")
        print(f"dnf 4: payload step {step4:.1f} s, bare dnf --installroot {bare4:.1f} s (ratio {step4 / bare4:.2f})")
        chroot = unpack(cached_tarball(), work / "sid")
        runner = ChrootRunner(RealRunner(EventBus()), chroot, (work, REPO, TOP / "installer/data"))
        step5, count5, _ = payload_step(runner, work / "step5")
        bare5 = bare_dnf5_seconds(chroot, work)
        print(f"dnf5 (sid root): payload step {step5:.1f} s ({count5} packages), bare dnf5 --installroot {bare5:.1f} s "
              f"(ratio {step5 / bare5:.2f})")
        shutil.rmtree(work / "step4", ignore_errors=True)
        total, image = whole_install(work / "install")
        copy = raw_copy_seconds(image)
        du = subprocess.run(["du", "-B1", str(image)], capture_output=True, text=True, check=True)
        used = int(du.stdout.split()[0])
        print(f"whole install into a 6 GiB image (BIOS, SELinux labelled, initramfs): {total:.1f} s; raw copy of the "
              f"same {used / 1e6:.0f} MB: {copy:.1f} s (ratio {total / copy:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
