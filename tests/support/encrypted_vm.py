"""The encrypted install in QEMU, shared by its VM test and `make bench`.

The guest reaches the Key Vault stand-in through QEMU user networking: 169.254.169.254:80 is the
metadata endpoint (managed identity) and 169.254.169.250:443 the vault, both forwarded to servers
on the host's loopback. The profile is iso/profiles/vm-uefi.yaml on two disks (a RAID 1 /boot
across both, the root on LVM over one LUKS2 physical volume) plus envelope encryption (keyvault-key),
recovery escrow to the vault and unlock keyvault only (no console fallback), and a post script that
leaves a plaintext marker on the encrypted root.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from iso.vm import qemu
from tests.support.images import data_disk, guest_cpus
from tests.support.keyvault_standin import StandIn

REPO = Path(__file__).resolve().parents[2]
VAULT_IP = "169.254.169.250"
# Seconds for each boot of `vm` (the install, then the installed system). 1500 ran out once: the ISO's boot took
# 414 s and update-initramfs 9 minutes beside two other guests on 2 cores.
BOOT_SECONDS = 2400
VAULT_URL = f"https://{VAULT_IP}"
HOSTNAME = "azl-encrypted"


# Two disks, as Anaconda lays out a mirrored /boot under an encrypted LVM root: the ESP on the first
# disk, /boot on a RAID 1 array across both, and the rest of the first disk one LUKS2 physical volume
# of the volume group "sys", whose logical volume "root" holds /.
STACKED_STORAGE = {
    "disks": [{"serial": "AZL-TARGET-0"}, {"serial": "AZL-TARGET-1"}],
    "partitions": [
        {"size": "200MiB", "filesystem": "vfat", "mount": "/boot/efi", "label": "ESP"},
        {"size": "512MiB", "filesystem": "none", "raid": "boot"},
        {"size": "512MiB", "filesystem": "none", "raid": "boot", "disk": 1},
        {"size": "2GiB", "grow": True, "filesystem": "none", "volume_group": "sys"},
    ],
    "raids": [{"name": "boot", "level": 1, "mount": "/boot", "filesystem": "ext4", "label": "boot"}],
    "volume_groups": [{"name": "sys", "encrypted": True, "logical_volumes": [
        {"name": "root", "grow": True, "mount": "/", "filesystem": "ext4"}]}],
}


FINDMNT = "findmnt --real -n -o SOURCE,TARGET,FSTYPE\n"  # the first report line of vm-uefi.yaml's boot check
# What the installed system's boot check adds for a stacked layout: the block device tree and the arrays.
STACK_REPORT = ("lsblk -n -o NAME,TYPE,MOUNTPOINT | sed 's/^[^a-z]*/lsblk /'\n",
                "cat /proc/mdstat | sed 's/^/mdstat /'\n")


def check_stacked_storage(check: str) -> None:
    """What STACKED_STORAGE's STACK_REPORT must show from the installed system: / on LVM over LUKS2, /boot on the
    RAID 1 array of both disks (vda2 and vdb1, in either order), both members in sync."""
    assert re.search(r"^lsblk luks-[0-9a-f-]+\s+crypt\s*$", check, re.M), check
    assert re.search(r"^lsblk sys-root\s+lvm\s+/\s*$", check, re.M), check
    assert re.search(r"^lsblk md\S*\s+raid1\s+/boot\s*$", check, re.M), check
    array = re.search(r"^mdstat md\S+ : active raid1 (.*)$", check, re.M)
    assert array is not None and sorted(re.findall(r"(vd[ab]\d)\[\d\]", array[1])) == ["vda2", "vdb1"], check
    assert re.search(r"^mdstat .*\[2/2\] \[UU\]", check, re.M), check


def vm_uefi_profile() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "iso" / "profiles" / "vm-uefi.yaml").read_text())
    return loaded


def boot_check_body(*lines: str) -> str:
    """vm-uefi.yaml's first-boot check script, reporting these shell lines' output too (after the mounts)."""
    body: str = vm_uefi_profile()["scripts"]["post"][0]["body"]
    return body.replace(FINDMNT, FINDMNT + "".join(lines))


def encrypted_profile(marker: str) -> str:
    profile = vm_uefi_profile()
    profile["system"]["hostname"] = HOSTNAME
    profile["storage"] = STACKED_STORAGE
    profile["encryption"] = {
        "enabled": True, "key_source": "keyvault-key", "vault_url": VAULT_URL, "key_name": "disk-kek",
        "identity": {"kind": "managed-identity"}, "ca_bundle": "ca.pem", "volumes": [],
        "pbkdf": {"iter_time": 1000}, "recovery": {"escrow": "keyvault"}, "unlock": ["keyvault"],
    }
    profile["scripts"]["post"][0]["body"] = boot_check_body(
        *STACK_REPORT, "echo \"marker: $(cat /root/azl-marker)\"\n",
        "grep -h 'opened as' /var/log/azl-installer/install-*.log | sed 's/^/luks-times /'\n")
    profile["scripts"]["post"].append({"name": "plaintext marker", "body": f"echo {marker} > /root/azl-marker\n"})
    return yaml.safe_dump(profile, sort_keys=False)


@dataclass(frozen=True)
class EncryptedRun:
    returncode: int
    stderr: str
    serial: str  # the whole serial console: the install, then the installed system's boot
    disk: Path  # the target disk (qcow2)
    marker: str

    @property
    def first_boot(self) -> str:
        return self.serial[self.serial.index("AZL-INSTALL-RESULT rc=0"):]

    @property
    def check(self) -> str:
        boot = self.first_boot
        return boot[boot.index("AZL-BOOT-CHECK begin"):boot.index("AZL-BOOT-CHECK end")]

    def timings(self) -> dict[str, float]:
        """LUKS format/open in the guest's install, and the Key Vault unlock in the initramfs."""
        found: dict[str, float] = {}
        if match := re.search(r"\(format ([\d.]+) s, open ([\d.]+) s\)", self.serial):
            found["format"], found["open"] = float(match[1]), float(match[2])
        asked = re.search(r"azl-unlock: asking Key Vault .*\(uptime ([\d.]+) s\)", self.first_boot)
        got = re.search(r"azl-unlock: key for .*\(uptime ([\d.]+) s\)", self.first_boot)
        if asked and got:
            found["unlock_fetch"], found["unlocked_at"] = float(got[1]) - float(asked[1]), float(got[1])
        return found


def standin_forwards(standin: StandIn) -> list[qemu.Forward]:
    """The metadata endpoint and the vault, as a guest reaches them, served by the stand-in."""
    imds_port, vault_port = (int(url.rsplit(":", 1)[1]) for url in (standin.imds_url, standin.vault_url))
    return [qemu.Forward("169.254.169.254", 80, imds_port), qemu.Forward(VAULT_IP, 443, vault_port)]


def forward_args(forwards: list[qemu.Forward]) -> list[str]:
    """`azl-installer vm --forward ...` for those forwards."""
    return [arg for f in forwards for arg in ("--forward", f"{f.guest_ip}:{f.guest_port}={f.host_port}")]


def run_encrypted_install(iso: Path, standin: StandIn, work: Path) -> EncryptedRun:
    """Install from the ISO with the key from the stand-in, then boot the installed disk (UEFI, TCG)."""
    marker = "AZL-PLAINTEXT-" + secrets.token_hex(8)
    work.mkdir(parents=True, exist_ok=True)
    profile, ca, serial = work / "encrypted.yaml", work / "ca.pem", work / "serial.log"
    profile.write_text(encrypted_profile(marker))
    ca.write_bytes(standin.ca.ca_pem.read_bytes())
    done = subprocess.run(
        [sys.executable, "-m", "installer", "vm", "--iso", str(iso), "--profile", str(profile),
         "--profile-file", str(ca), *forward_args(standin_forwards(standin)), "--disk-size", "4GiB", "--disks", "2",
         "--other-disk", str(data_disk(work / "other.img")),  # no target: unchanged after install and boot
         "--cpus", str(guest_cpus()),
         "--console", str(serial), "--workdir", str(work / "vm"), "--timeout", str(BOOT_SECONDS)],
        cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=3 * BOOT_SECONDS)
    text = serial.read_text(errors="replace") if serial.exists() else ""
    return EncryptedRun(done.returncode, done.stderr, text, work / "vm" / "disk-0.qcow2", marker)
