"""The ISO built from RPM repositories (`iso.build --from rpm`) in QEMU: it boots with BIOS from a disk,
and installs the test distribution unattended with Secure Boot enforced, whose disk then boots alone.

1. SeaBIOS starts the GRUB of the live root's grub2-pc package from the hybrid image's MBR, as from a USB
   stick (the image is a virtio disk, not a CD), and dracut's dmsquash-live must still find the medium by
   its label. The live system is up when the launcher prints its ready marker, after naming the
   installer's RPM as rpm's database knows it.
2. `azl-installer vm --secure-boot`: OVMF with Microsoft's keys starts the live root's shim, GRUB and
   kernel; the installer (an RPM there) installs azl-vm-uefi.yaml through the live system's dnf; the
   installed disk boots with Secure Boot and reports (AZL-BOOT-CHECK lines).
   The profile names packages instead of groups: the test distribution's dnf 4.23 with Debian trixie's
   python3-libcomps 0.1.21 on Python 3.13 crashes (SIGSEGV) on any comps group (iterating a libcomps
   list in Python yields nothing or crashes), so the test expands the groups from the installer's comps
   itself. The Debian-built ISO (bookworm's dnf 4.14) installs groups (test_testdistro_vm.py).

Needs root (the ISO build) and the tools scripts/setup-host.sh installs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from installer.payload.catalog import parse_comps
from iso.boottest import BootSpec, boot
from iso.vm.serial import READY_MARKER
from tests.support import trusted_vm
from tests.support.images import guest_cpus

pytestmark = [pytest.mark.vm, pytest.mark.skipif(os.geteuid() != 0, reason="the ISO build needs root")]

REPO = Path(__file__).resolve().parents[2]
BOOT_WAIT = 900.0  # seconds: about 3 minutes alone under TCG, far more beside another guest
INSTALL_WAIT = 2400  # seconds for `vm`: ISO boot, install, installed boot, beside another guest
PACKAGE_LINE = re.compile(r"launcher: (azl-installer-\S+\.noarch) \(rpm -q azl-installer\)")
MEMORY_LINE = re.compile(r"launcher: memory: at most (\d+) MiB of (\d+) MiB in use during the install")
BOOT_LINE = re.compile(r"launcher: boot: .*")
SMALLEST_GUEST_MIB = 768  # iso/launcher.py's MIN_MEMORY_MIB


@pytest.mark.minutes(2)  # 119 s in make test (2026-12-02)
def test_the_rpm_built_iso_boots_with_bios_from_a_disk_to_the_installer(rpm_installer_iso: Path,
                                                                         tmp_path: Path) -> None:
    result = boot(BootSpec(rpm_installer_iso, firmware="bios", media="virtio"), READY_MARKER, BOOT_WAIT,
                  tmp_path / "serial.log")
    assert result.found, f"no {READY_MARKER} after {result.seconds:.0f} s:\n{result.tail(60)}"
    print(f"BIOS, ISO as a disk: {READY_MARKER} after {result.seconds:.0f} s")
    assert PACKAGE_LINE.search(result.serial), result.tail(60)
    assert "GNU GRUB" in result.serial, result.tail(60)  # the menu, drawn on the serial console too


def packages_only(profile: dict[str, Any]) -> dict[str, Any]:
    """The profile with its comps groups replaced by their mandatory and default packages (see above)."""
    groups, _ = parse_comps((REPO / "installer/data/azurelinux-comps.xml").read_bytes())
    by_id = {group.id: group for group in groups}
    payload = profile["payload"]
    expanded = [name for gid in payload.pop("groups") for name in by_id[gid].packages]
    payload["packages"] = list(dict.fromkeys([*expanded, *payload["packages"]]))
    return profile


@pytest.mark.minutes(11)  # 580 s in make test, and the RPM ISO build (57 s) before it (2026-12-02; 1001 s at stop 26)
def test_the_rpm_built_iso_installs_with_secure_boot_and_the_disk_boots(rpm_installer_iso: Path,
                                                                        tmp_path: Path) -> None:
    profile = packages_only(yaml.safe_load((REPO / "iso/profiles/azl-vm-uefi.yaml").read_text()))
    path, serial, booted = tmp_path / "azl-vm-uefi-packages.yaml", tmp_path / "serial.log", tmp_path / "boot.log"
    path.write_text(yaml.safe_dump(profile, sort_keys=False))
    vm = [sys.executable, "-m", "installer", "vm", "--firmware", "uefi", "--secure-boot", "--cpus", str(guest_cpus()),
          "--workdir", str(tmp_path / "vm"), "--timeout", str(INSTALL_WAIT)]
    # The install in the smallest machine the installer is proven in; the installed system then boots with the
    # default memory (in 768 MiB, beside another guest, its udev missed systemd's 90 s device timeouts).
    done = subprocess.run(
        [*vm, "--iso", str(rpm_installer_iso), "--profile", str(path), "--console", str(serial), "--disk-size", "6GiB",
         "--memory", str(SMALLEST_GUEST_MIB), "--no-boot"],
        cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=3 * INSTALL_WAIT)
    log = serial.read_text(errors="replace") if serial.exists() else ""
    install_log = re.search(r"AZL-LOG-BEGIN(.*?)AZL-LOG-END", log, re.S)
    assert "AZL-INSTALL-RESULT rc=0" in log, f"install failed:\n{install_log.group(1) if install_log else log[-6000:]}"
    assert done.returncode == 0, done.stderr[-3000:]
    assert PACKAGE_LINE.search(log), log[-6000:]  # the installer that ran is the live system's RPM
    memory = MEMORY_LINE.search(log)
    assert memory, log[-6000:]
    print(f"{SMALLEST_GUEST_MIB} MiB guest: {memory.group(0)}; {BOOT_LINE.search(log)}")
    done = subprocess.run([*vm, "--no-install", "--console", str(booted)], cwd=REPO, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=3 * INSTALL_WAIT)
    log = booted.read_text(errors="replace") if booted.exists() else ""
    assert done.returncode == 0, done.stderr[-3000:] + log[-3000:]
    report = trusted_vm.report(log)
    assert report, f"the installed system did not report:\n{log[-6000:]}"
    assert report["os"] == ["azurelinux 4.0"], report
    assert report["getenforce"] == ["Enforcing"], report
    # Booted through the shim and GRUB the installer put on the disk, Secure Boot enforced, as the ISO was.
    assert report["secureboot"] == ["Secure boot enabled"], report
    assert report["cloud-init"] == ["status: done"], report
    assert "failed" not in report, report["failed"]
    assert {"kernel", "shim-x64", "grub2-efi-x64", "WALinuxAgent", "cloud-init"} <= set(report["rpm"]), report
