"""The Azure Linux path for real: install the test distribution (Debian binaries under Azure Linux's
package names, docs/testdistro.md) through dnf from the ISO, boot the installed disk alone, and read
what it reports: SELinux enforcing with no relabel pending, every unit up, the boot chain's packages in
the rpm database, cloud-init done from the NoCloud seed.

Slow (about 20 minutes under TCG): one install, two boots. Needs root (the ISO build) and the tools
scripts/setup-host.sh installs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BOOT_CHAIN = {"uefi": {"grub2-efi-x64", "shim-x64"}, "bios": {"grub2-pc"}}
ALWAYS = {"kernel", "dracut", "grub2-tools", "selinux-policy-targeted", "policycoreutils", "WALinuxAgent",
          "cloud-init", "systemd", "azurelinux-release"}

# What the installer writes into this install (the plan names each); a denial naming one fails the test.
# Denials of the test distribution's own gaps (Debian's reference policy against systemd 257, made
# permissive in its azl-testdistro module, docs/testdistro.md) are logged and allowed.
INSTALLER_FILES = {
    "fstab", "cmdline", "hostname", "locale.conf", "vconsole.conf", "localtime", "passwd", "shadow", "group",
    "gshadow", "authorized_keys", "grub", "grub.cfg", "90-azl-installer.conf", "waagent.conf", "chrony.conf",
    "40-azl-azure.conf", "10-azure-unmanaged-sriov.rules", "91-azure_datasource.cfg", "user-data", "meta-data",
    "99-azl-installer-locale.cfg", "99-azl-installer-datasource.cfg", "machine-id", "azl-installer",
    "azl-boot-check", "azl-boot-check.service", "grubx64.efi", "BOOTX64.EFI",
}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the ISO build needs root")


def _report(log: str) -> dict[str, list[str]]:
    """The AZL-BOOT-CHECK section as `key: value` lines, grouped by key."""
    match = re.search(r"AZL-BOOT-CHECK begin\r?\n(.*?)AZL-BOOT-CHECK end", log, re.S)
    grouped: dict[str, list[str]] = {}
    for line in (match.group(1).splitlines() if match else []):
        key, _, value = line.rstrip("\r").partition(": ")
        grouped.setdefault(key, []).append(value)
    return grouped


def _names(avc: str) -> set[str]:
    """The file names a denial mentions (name="x", or the last part of path="/a/x")."""
    found = set(re.findall(r'\bname="([^"]+)"', avc))
    return found | {path.rsplit("/", 1)[-1] for path in re.findall(r'\bpath="([^"]+)"', avc)}


def _vm(firmware: str, serial: Path, workdir: Path, *, iso: Path | None = None,
        profile: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`azl-installer vm`: with the ISO and a profile it installs (then boots the disk); without them
    (--no-install) it boots the disk already in workdir, which is how the CLI wants it."""
    source = ["--iso", str(iso), "--profile", str(profile)] if iso and profile else ["--no-install"]
    return subprocess.run(
        [sys.executable, "-m", "installer", "vm", *source, "--firmware", firmware,
         "--console", str(serial), "--workdir", str(workdir), "--disk-size", "6GiB", "--timeout", "1500"],
        cwd=REPO, capture_output=True, text=True, timeout=3000,
    )


def _check(report: dict[str, list[str]]) -> None:
    assert report["os"] == ["azurelinux 4.0"], report
    assert report["getenforce"] == ["Enforcing"], report
    assert "security=selinux" in report["cmdline"][0], report  # Debian's kernel starts AppArmor first
    assert "failed" not in report, report["failed"]
    assert report["state"] == ["running"], report
    assert report["cloud-init"] == ["status: done"], report
    # What the NoCloud seed asked for: the file, the user with its key, the command (run after both).
    assert report["seeded"] == ["written by cloud-init from the azl-installer seed"], report
    assert report["seeduser"] == ["seeduser:/home/seeduser:/bin/bash"], report
    assert report["seedkey"][0].endswith("seed@azl-installer"), report
    assert report["runcmd"] == ["runcmd ran as root for /home/seeduser"], report
    assert [line for line in report.get("cloud-init-log", []) if "[WARNING]" not in line] == [], report
    assert set(report["rpm"]) >= ALWAYS | BOOT_CHAIN["uefi"] | BOOT_CHAIN["bios"], report["rpm"]
    # Labelled at install time: nothing left for restorecon, and no denial at boot.
    assert "relabel" not in report, report["relabel"]
    named = [line for line in report.get("avc", []) if _names(line) & INSTALLER_FILES]
    assert named == [], named
    # findmnt draws its tree before each target: "/dev/vda3 └─/boot ext4".
    mounts = {m.group(1): m.group(2) for line in report["mount"] if (m := re.search(r"(/\S*)\s+(\S+)$", line))}
    wanted = {"/": "ext4", "/boot": "ext4", "/boot/efi": "vfat"}
    assert {m: mounts.get(m) for m in wanted} == wanted, report["mount"]


@pytest.mark.minutes(27)
def test_one_install_of_the_test_distribution_boots_with_uefi_and_with_bios(installer_iso: Path,
                                                                           tmp_path: Path) -> None:
    """azl-vm-uefi.yaml with a layout for both firmwares: one install (the slow part under TCG), then
    the installed disk booted alone by OVMF and by SeaBIOS, each boot reporting on its own."""
    profile = yaml.safe_load((REPO / "iso/profiles/azl-vm-uefi.yaml").read_text())
    profile["storage"]["auto"]["boot"] = "both"
    profile["payload"]["packages"].append("grub2-pc")
    both = tmp_path / "azl-vm-both.yaml"
    both.write_text(yaml.safe_dump(profile, sort_keys=False))
    serial = tmp_path / "serial.log"
    done = _vm("uefi", serial, tmp_path / "vm", iso=installer_iso, profile=both)
    log = serial.read_text(errors="replace") if serial.exists() else ""
    install_log = re.search(r"AZL-LOG-BEGIN(.*?)AZL-LOG-END", log, re.S)
    shown = install_log.group(1) if install_log else log[-6000:]
    assert "AZL-INSTALL-RESULT rc=0" in log, f"install failed:\n{shown}"
    assert done.returncode == 0, done.stderr[-3000:]
    report = _report(log)
    assert report, f"the installed system did not report (UEFI):\n{log[-6000:]}"
    _check(report)

    bios_serial = tmp_path / "serial-bios.log"
    done = _vm("bios", bios_serial, tmp_path / "vm")
    bios_log = bios_serial.read_text(errors="replace") if bios_serial.exists() else ""
    assert done.returncode == 0, done.stderr[-3000:]
    bios_report = _report(bios_log)
    assert bios_report, f"the installed system did not report (BIOS):\n{bios_log[-6000:]}"
    _check(bios_report)
