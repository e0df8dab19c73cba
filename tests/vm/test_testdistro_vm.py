"""The Azure Linux path for real: install the test distribution (Debian binaries under Azure Linux's
package names, docs/testdistro.md) through dnf from the ISO, boot the installed disk alone, and read
what it reports: SELinux enforcing with no relabel pending, every unit up, the boot chain's packages in
the rpm database, cloud-init done from the NoCloud seed.

Slow (minutes under TCG): UEFI and BIOS. Needs root (the ISO build) and the tools setup-host.sh installs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BOOT_CHAIN = {"uefi": {"grub2-efi-x64", "shim-x64"}, "bios": {"grub2-pc"}}
ALWAYS = {"kernel", "dracut", "grub2-tools", "selinux-policy-targeted", "policycoreutils", "WALinuxAgent",
          "cloud-init", "systemd", "azurelinux-release"}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the ISO build needs root")


def _report(log: str) -> dict[str, list[str]]:
    """The AZL-BOOT-CHECK section as `key: value` lines, grouped by key."""
    match = re.search(r"AZL-BOOT-CHECK begin\r?\n(.*?)AZL-BOOT-CHECK end", log, re.S)
    grouped: dict[str, list[str]] = {}
    for line in (match.group(1).splitlines() if match else []):
        key, _, value = line.rstrip("\r").partition(": ")
        grouped.setdefault(key, []).append(value)
    return grouped


@pytest.mark.parametrize("firmware", ["uefi", "bios"])
def test_test_distribution_installs_through_dnf_and_boots_enforcing(installer_iso: Path, firmware: str,
                                                                   tmp_path: Path) -> None:
    serial = tmp_path / "serial.log"
    done = subprocess.run(
        [sys.executable, "-m", "installer", "vm", "--iso", str(installer_iso), "--firmware", firmware,
         "--profile", str(REPO / "iso" / "profiles" / f"azl-vm-{firmware}.yaml"), "--console", str(serial),
         "--workdir", str(tmp_path / "vm"), "--disk-size", "6GiB", "--timeout", "1500"],
        cwd=REPO, capture_output=True, text=True, timeout=3000,
    )
    log = serial.read_text(errors="replace") if serial.exists() else ""
    install_log = re.search(r"AZL-LOG-BEGIN(.*?)AZL-LOG-END", log, re.S)
    assert "AZL-INSTALL-RESULT rc=0" in log, f"install failed:\n{install_log.group(1) if install_log else log[-6000:]}"
    assert done.returncode == 0, done.stderr[-3000:]

    report = _report(log)
    assert report, f"the installed system did not report:\n{log[-6000:]}"
    assert report["os"] == ["azurelinux 4.0"], report
    assert report["getenforce"] == ["Enforcing"], report
    assert "security=selinux" in report["cmdline"][0], report  # Debian's kernel starts AppArmor first
    assert report["state"] == ["running"], report.get("failed")
    assert "failed" not in report, report["failed"]
    assert report["cloud-init"] == ["status: done"], report
    assert report["seeded"] == ["written by cloud-init from the azl-installer seed"], report
    assert set(report["rpm"]) >= ALWAYS | BOOT_CHAIN[firmware], report["rpm"]
    # Labelled at install time: nothing left for restorecon, and no denial at boot.
    assert "relabel" not in report, report["relabel"]
    assert "avc" not in report, report["avc"]
    mounts = {line.split()[1]: line.split()[2] for line in report["mount"]}
    wanted = {"/": "ext4", "/boot": "ext4"} | ({"/boot/efi": "vfat"} if firmware == "uefi" else {})
    assert {m: mounts.get(m) for m in wanted} == wanted, report["mount"]
