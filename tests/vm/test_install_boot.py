"""The whole product in QEMU with the image payload: boot the real ISO, install the live system's own
squashfs (Debian: grub-*, initramfs-tools) unattended onto a blank virtio disk, reboot from that disk
alone, and read what the installed system reports on its serial console.

Slow (minutes under TCG): UEFI. The dnf payload (the test distribution) and BIOS boots are in
test_testdistro_vm.py. Needs root (the ISO build) and the tools scripts/setup-host.sh installs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE_EXTRAS = {"azure-vm-utils", "cloud-utils-growpart", "vim-minimal"}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the ISO build needs root")


def _section(log: str, begin: str, end: str) -> list[str]:
    match = re.search(re.escape(begin) + r"\r?\n(.*?)" + re.escape(end), log, re.S)
    return [line.rstrip("\r") for line in match.group(1).splitlines()] if match else []


# BIOS: tests/vm/test_testdistro_vm.py boots its install with SeaBIOS (one scenario, both firmwares).
@pytest.mark.minutes(8)
@pytest.mark.parametrize("firmware", ["uefi"])
def test_install_from_iso_then_boot_installed_disk(installer_iso: Path, firmware: str, tmp_path: Path) -> None:
    serial = tmp_path / "serial.log"
    done = subprocess.run(
        [sys.executable, "-m", "installer", "vm", "--iso", str(installer_iso), "--firmware", firmware,
         "--profile", str(REPO / "iso" / "profiles" / f"vm-{firmware}.yaml"), "--console", str(serial),
         "--workdir", str(tmp_path / "vm"), "--disk-size", "4GiB", "--timeout", "900"],
        cwd=REPO, capture_output=True, text=True, timeout=2400,
    )
    log = serial.read_text(errors="replace") if serial.exists() else ""
    install_log = "\n".join(_section(log, "AZL-LOG-BEGIN", "AZL-LOG-END"))
    assert "AZL-INSTALL-RESULT rc=0" in log, f"install failed in the guest:\n{install_log or log[-6000:]}"
    assert done.returncode == 0, done.stderr[-3000:]

    report = _section(log, "AZL-BOOT-CHECK begin", "AZL-BOOT-CHECK end")
    assert report, f"the installed system did not report:\n{log[-6000:]}"
    mounts = {}
    for line in report:
        match = re.match(r"^(/dev/\S+)\s+[^/]*(/\S*)\s+(\S+)$", line)
        if match:
            mounts[match.group(2)] = (match.group(1), match.group(3))
    fstab = [line.split() for line in report if line.startswith("UUID=")]
    wanted = {"/": "ext4", "/boot": "ext4"} | ({"/boot/efi": "vfat"} if firmware == "uefi" else {})
    assert {m: fs for m, (_, fs) in mounts.items() if m in wanted} == wanted, report
    assert {(f[1], f[2]) for f in fstab} == set(wanted.items()), report
    packages = {re.sub(r"-[^-]+-[^-]+$", "", line) for line in report}
    assert packages >= SAMPLE_EXTRAS, report
    assert report[-1] in ("running", "degraded"), report  # multi-user reached
