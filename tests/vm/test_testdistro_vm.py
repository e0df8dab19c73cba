"""The Azure Linux path for real: install the test distribution (Debian binaries under Azure Linux's
package names, docs/testdistro.md) through dnf from the ISO, boot the installed disk alone, and read
what it reports: SELinux enforcing with no relabel pending, every unit up, the boot chain's packages in
the rpm database, cloud-init done from the NoCloud seed.

One install serves several proofs: the root is LUKS2-encrypted with a random key wrapped by the Key
Vault stand-in's RSA key, the recovery key escrowed there, and `unlock: [tpm2, keyvault, passphrase]`
with the TPM2 key sealed to PCR 7, in a Trusted Launch-like VM: Secure Boot enforced by OVMF with
Microsoft's keys (`azl-installer vm --secure-boot`, so the ISO too boots through the test distribution's
signed shim and GRUB), a swtpm vTPM (`--tpm`), and the stand-in reachable at its metadata endpoint and
vault addresses (`--forward`). Three boots of the installed disk:
  1. UEFI, Secure Boot on, the same TPM: up with no console input and no call to the vault (the TPM
     unseals the key, PCR 7 being what it was during the install);
  2. BIOS with a new, empty TPM: systemd-cryptsetup asks, and the initramfs' Key Vault agent (dracut
     module azl-unlock) answers with the key the stand-in unwraps, again with no console input;
  3. UEFI, Secure Boot on, a new TPM and the stand-in gone (its addresses lead to a closed port): the
     agent gives up with one console line, and the recovery key escrowed in the vault, typed on the
     serial console, unlocks the root.
No bearer token or recovery key may reach a console or the unlock agent's journal.

Slow (about 21 minutes under TCG, beside another guest): one install, three boots. Needs root (the ISO
build) and the tools scripts/setup-host.sh installs (swtpm among them).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.support import trusted_vm
from tests.support.encrypted_vm import standin_forwards
from tests.support.keyvault_standin import StandIn
from tests.support.trusted_vm import AGENT_GAVE_UP, ROOT_MOUNTED

BOOT_CHAIN = {"uefi": {"grub2-efi-x64", "shim-x64"}, "bios": {"grub2-pc"}}
ALWAYS = {"kernel", "dracut", "grub2-tools", "selinux-policy-targeted", "policycoreutils", "WALinuxAgent",
          "cloud-init", "systemd", "azurelinux-release", "tpm2-tools"}

# What the installer writes into this install (the plan names each); a denial naming one fails the test.
# Denials of the test distribution's own gaps (Debian's reference policy against systemd 257, made
# permissive in its azl-testdistro module, docs/testdistro.md) are logged and allowed.
INSTALLER_FILES = {
    "fstab", "cmdline", "hostname", "locale.conf", "vconsole.conf", "localtime", "passwd", "shadow", "group",
    "gshadow", "authorized_keys", "grub", "grub.cfg", "90-azl-installer.conf", "waagent.conf", "chrony.conf",
    "40-azl-azure.conf", "10-azure-unmanaged-sriov.rules", "91-azure_datasource.cfg", "user-data", "meta-data",
    "99-azl-installer-locale.cfg", "99-azl-installer-datasource.cfg", "machine-id", "azl-installer",
    "azl-boot-check", "azl-boot-check.service", "grubx64.efi", "BOOTX64.EFI", "crypttab", "50-azl-unlock.conf",
    "unlock.conf", "keyvault-ca.pem", "unlock-keyvault", "module-setup.sh", "azl-unlock-agent", "azl-unlock.path",
    "azl-unlock.service",
}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the ISO build needs root")


def _names(avc: str) -> set[str]:
    """The file names a denial mentions (name="x", or the last part of path="/a/x")."""
    found = set(re.findall(r'\bname="([^"]+)"', avc))
    return found | {path.rsplit("/", 1)[-1] for path in re.findall(r'\bpath="([^"]+)"', avc)}


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
    # / on the LUKS2 volume, which holds a TPM2-sealed key slot (its token) beside the passphrase's.
    root = next(m for m in report["mount"] if re.search(r"\s/\s", m))  # findmnt pads its columns
    assert re.match(r"/dev/mapper/luks-\S+\s+/\s+ext4$", root), report["mount"]
    assert len(report["luks"]) == 1 and report["luks"][0].endswith(" tpm2-tokens=1 keyvault-tokens=1"), report
    named = [line for line in report.get("avc", []) if _names(line) & INSTALLER_FILES]
    assert named == [], named
    # findmnt draws its tree before each target: "/dev/vda3 └─/boot ext4".
    mounts = {m.group(1): m.group(2) for line in report["mount"] if (m := re.search(r"(/\S*)\s+(\S+)$", line))}
    wanted = {"/": "ext4", "/boot": "ext4", "/boot/efi": "vfat"}
    assert {m: mounts.get(m) for m in wanted} == wanted, report["mount"]


def _unwraps(standin: StandIn) -> int:
    return sum(1 for method, path in standin.requests if method == "POST" and path.endswith("/unwrapkey"))


@pytest.mark.minutes(21)  # 1240 s in make test (2026-12-02, stop 27's validation; 1884 s at stop 26)
def test_one_install_of_the_test_distribution_boots_with_uefi_and_with_bios(installer_iso: Path, standin: StandIn,
                                                                           tmp_path: Path) -> None:
    """One install (the slow part under TCG), then the installed disk booted alone three times (the
    module's docstring), each boot reporting on its own."""
    installed = trusted_vm.install(installer_iso, standin, tmp_path)
    log = installed.serial
    install_log = re.search(r"AZL-LOG-BEGIN(.*?)AZL-LOG-END", log, re.S)
    shown = install_log.group(1) if install_log else log[-6000:]
    assert "AZL-INSTALL-RESULT rc=0" in log, f"install failed:\n{shown}"
    assert installed.returncode == 0, installed.stderr[-3000:]
    # The install's progress on the console (its log is printed only on failure).
    installing = log[:log.index("AZL-INSTALL-RESULT rc=0")]
    assert re.search(r"\[tpm2-enrol\] /dev/vda\d \(/\): TPM2 key slot enrolled", installing), installing[-6000:]
    assert "dracut opens luks-" in installing and "with the TPM 2.0, else Key Vault" in installing, installing[-6000:]
    report = trusted_vm.report(log)
    # No input was given to this boot, and the vault unwrapped nothing (the install wraps locally, with the
    # public key): the TPM unsealed the key. Had it not, the agent would have asked the vault.
    assert report, f"the installed system did not report (UEFI, TPM unlock):\n{log[-6000:]}"
    _check(report)
    # Booted through shim, Debian's signed GRUB and kernel with Secure Boot enforced; PCR 7 is what it was
    # while the installer (booted through the same chain) sealed the key.
    assert report["secureboot"] == ["Secure boot enabled"], report
    assert "[integrity]" in report["lockdown"][0] or "[confidentiality]" in report["lockdown"][0], report
    assert _unwraps(standin) == 0, (standin.requests, report.get("pcr7"))
    assert not [line for line in report.get("unlock-journal", []) if "azl-unlock:" in line], report["unlock-journal"]

    bios_log = trusted_vm.bios_boot_with_a_new_tpm(installed.disk, tmp_path / "serial-bios.log",
                                                   standin_forwards(standin))
    bios_report = trusted_vm.report(bios_log)
    assert bios_report, f"the installed system did not report (BIOS, Key Vault unlock):\n{bios_log[-6000:]}"
    _check(bios_report)
    assert bios_report["secureboot"] == [""], bios_report
    # The new TPM could not unseal; the agent got the key from the vault, and nobody typed anything.
    assert _unwraps(standin) == 1, standin.requests
    assert any("answered the passphrase request of /dev/disk/by-uuid/" in line
               for line in bios_report["unlock-journal"]), bios_report["unlock-journal"]

    # A new TPM again, and the vault gone: one line from the agent, then the escrowed recovery key works.
    [recovery] = [v.value for name, versions in standin.secrets.items() if name.startswith("luks-recovery-")
                  for v in versions]
    recovery_log = trusted_vm.recovery_boot(installed, tmp_path / "serial-recovery.log", standin, recovery)
    failed = [line for line in recovery_log.splitlines() if AGENT_GAVE_UP in line]
    assert len(failed) == 1, recovery_log[-6000:]
    assert "type its passphrase or recovery key at the prompt" in failed[0], failed
    assert ROOT_MOUNTED in recovery_log.split(failed[0], 1)[1], recovery_log[-6000:]
    assert _unwraps(standin) == 1, standin.requests  # nothing reached the vault
    # Nothing secret on any console or in the agent's journal: bearer tokens, the escrowed recovery key
    # (typed on the third boot: never echoed).
    assert standin.tokens, "the agent signed in with the managed identity"
    for secret in (recovery, *standin.tokens):
        for console_text in (log, bios_log, recovery_log):
            assert secret not in console_text, "a secret reached the console"
    print(f"TPM2 enrolment {trusted_vm.enrol_seconds(log):.1f} s; root unlocked at "
          f"{trusted_vm.seconds(report.get('unlocked-at')):.1f} s (TPM2, Secure Boot) and "
          f"{trusted_vm.seconds(bios_report.get('unlocked-at')):.1f} s (Key Vault) after the kernel started")
