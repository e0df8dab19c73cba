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

Slow (about 35 minutes under TCG): one install, three boots. Needs root (the ISO build) and the tools
scripts/setup-host.sh installs (swtpm among them).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from iso.vm import qemu
from iso.vm.process import QemuProcess
from iso.vm.tpm import running_swtpm
from tests.support.encrypted_vm import VAULT_URL, forward_args, standin_forwards
from tests.support.images import guest_cpus
from tests.support.keyvault_standin import StandIn
from tests.support.serial_screen import SerialScreen

REPO = Path(__file__).resolve().parents[2]
BOOT_CHAIN = {"uefi": {"grub2-efi-x64", "shim-x64"}, "bios": {"grub2-pc"}}
ALWAYS = {"kernel", "dracut", "grub2-tools", "selinux-policy-targeted", "policycoreutils", "WALinuxAgent",
          "cloud-init", "systemd", "azurelinux-release", "tpm2-tools"}
BOOT_SECONDS = 2400.0  # one QEMU run under TCG (the install took 25 min beside another guest), per boot

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


def _vm(iso: Path, profile: Path, ca: Path, serial: Path, workdir: Path,
        forwards: list[qemu.Forward]) -> subprocess.CompletedProcess[str]:
    """`azl-installer vm --tpm --secure-boot`: install with UEFI, then boot the disk with the same TPM."""
    return subprocess.run(
        [sys.executable, "-m", "installer", "vm", "--iso", str(iso), "--profile", str(profile), "--profile-file",
         str(ca), *forward_args(forwards), "--firmware", "uefi", "--secure-boot", "--cpus", str(guest_cpus()),
         "--tpm", "--console",
         str(serial), "--workdir", str(workdir), "--disk-size", "6GiB", "--timeout", str(BOOT_SECONDS)],
        cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=3 * BOOT_SECONDS,
    )


def _bios_boot_with_a_new_tpm(disk: Path, log: Path, forwards: list[qemu.Forward]) -> str:
    """The installed disk through SeaBIOS with a new, empty TPM: nothing can be unsealed, so
    systemd-cryptsetup asks, and nobody types: the Key Vault agent must answer. Returns what the
    console showed once the boot check powered the VM off (or once the agent gave up)."""
    short = Path(tempfile.mkdtemp(prefix="azl-bios-"))  # Unix socket paths: at most 107 bytes
    try:
        with running_swtpm(short / "tpm") as tpm:
            machine = qemu.Machine(firmware="bios", smp=guest_cpus(), tpm_socket=tpm, forwards=tuple(forwards))
            console = qemu.Console(log, terminal=False)
            with QemuProcess(qemu.installed_argv(machine, disk=disk, console=console)) as guest:
                deadline = time.monotonic() + BOOT_SECONDS
                while guest.poll() is None and time.monotonic() < deadline:
                    time.sleep(5)
                    if "Key Vault did not give the key" in log.read_text(errors="replace"):
                        break  # the boot would wait for the console now: no point in waiting longer
    finally:
        shutil.rmtree(short, ignore_errors=True)
    return log.read_text(errors="replace") if log.exists() else ""


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released): the stand-in, stopped."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _recovery_boot(disk: Path, vars_file: Path, log: Path, forwards: list[qemu.Forward], recovery: str) -> str:
    """The installed disk with Secure Boot, a new, empty TPM and no vault: wait for the Key Vault agent's
    line, type the recovery key at systemd's prompt, and stop once the root file system is mounted
    (the two other boots already ran the whole boot check). Returns what the console showed."""
    short = Path(tempfile.mkdtemp(prefix="azl-recovery-"))  # Unix socket paths: at most 107 bytes
    raw = log.with_suffix(".raw")
    try:
        with running_swtpm(short / "tpm") as tpm:
            machine = qemu.Machine(firmware="uefi", vars_file=vars_file, secure_boot=True, smp=guest_cpus(),
                                   tpm_socket=tpm, forwards=tuple(forwards))
            console = qemu.Console(log, terminal=False, socket=short / "serial.sock")
            screen = SerialScreen(short / "serial.sock", raw_log=raw)
            with QemuProcess(qemu.installed_argv(machine, disk=disk, console=console)) as guest:
                try:
                    screen.connect(timeout=30)
                    # Read from the bytes, not the screen: the line may wrap after systemd's prompt.
                    for wanted, then in (("Key Vault did not give the key", recovery + "\r"),
                                         ("Initrd Root File System", "")):
                        deadline = time.monotonic() + BOOT_SECONDS
                        while wanted not in raw.read_bytes().decode(errors="replace"):
                            assert guest.poll() is None and time.monotonic() < deadline, f"no {wanted!r}"
                            screen.pump(1.0)  # an unread socket stalls the guest
                        if then:
                            screen.type_text(then)
                finally:
                    screen.close()
    finally:
        shutil.rmtree(short, ignore_errors=True)
    return raw.read_bytes().decode(errors="replace") if raw.exists() else ""


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


@pytest.mark.minutes(35)
def test_one_install_of_the_test_distribution_boots_with_uefi_and_with_bios(installer_iso: Path, standin: StandIn,
                                                                           tmp_path: Path) -> None:
    """azl-vm-uefi.yaml with a layout for both firmwares and an encrypted root: one install (the slow
    part under TCG), then the installed disk booted alone by OVMF with its TPM and by SeaBIOS with a
    new one, each boot reporting on its own."""
    profile = yaml.safe_load((REPO / "iso/profiles/azl-vm-uefi.yaml").read_text())
    profile["storage"]["auto"]["boot"] = "both"  # the boot loader step adds grub2-pc by itself
    # argon2 sized for a TCG guest: the same guest benchmarks iter_time, and pays it at every unlock.
    profile["encryption"] = {
        "enabled": True, "key_source": "keyvault-key", "vault_url": VAULT_URL, "key_name": "disk-kek",
        "identity": {"kind": "managed-identity"}, "ca_bundle": "ca.pem", "recovery": {"escrow": "keyvault"},
        "unlock": ["tpm2", "keyvault", "passphrase"], "tpm2_pcrs": [7], "pbkdf": {"memory": "64MiB", "iter_time": 500}}
    both, ca = tmp_path / "azl-vm-both.yaml", tmp_path / "ca.pem"
    both.write_text(yaml.safe_dump(profile, sort_keys=False))
    ca.write_bytes(standin.ca.ca_pem.read_bytes())
    serial = tmp_path / "serial.log"
    done = _vm(installer_iso, both, ca, serial, tmp_path / "vm", standin_forwards(standin))
    log = serial.read_text(errors="replace") if serial.exists() else ""
    install_log = re.search(r"AZL-LOG-BEGIN(.*?)AZL-LOG-END", log, re.S)
    shown = install_log.group(1) if install_log else log[-6000:]
    assert "AZL-INSTALL-RESULT rc=0" in log, f"install failed:\n{shown}"
    assert done.returncode == 0, done.stderr[-3000:]
    # The install's progress on the console (its log is printed only on failure).
    installing = log[:log.index("AZL-INSTALL-RESULT rc=0")]
    assert re.search(r"\[tpm2-enrol\] /dev/vda\d \(/\): TPM2 key slot enrolled", installing), installing[-6000:]
    assert "dracut opens luks-" in installing and "with the TPM 2.0, else Key Vault" in installing, installing[-6000:]
    report = _report(log)
    # No input was given to this boot, and the vault unwrapped nothing (the install wraps locally, with the
    # public key): the TPM unsealed the key. Had it not, the agent would have asked the vault.
    assert report, f"the installed system did not report (UEFI, TPM unlock):\n{log[-6000:]}"
    _check(report)
    # Booted through shim, Debian's signed GRUB and kernel with Secure Boot enforced; PCR 7 is what it was
    # while the installer (booted through the same chain) sealed the key.
    assert report["secureboot"] == ["1"], report
    assert "[integrity]" in report["lockdown"][0] or "[confidentiality]" in report["lockdown"][0], report
    assert _unwraps(standin) == 0, (standin.requests, report.get("pcr7"))
    assert not [line for line in report.get("unlock-journal", []) if "azl-unlock:" in line], report["unlock-journal"]

    bios_log = _bios_boot_with_a_new_tpm(tmp_path / "vm" / "disk-0.qcow2", tmp_path / "serial-bios.log",
                                         standin_forwards(standin))
    bios_report = _report(bios_log)
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
    dead = [qemu.Forward(f.guest_ip, f.guest_port, _closed_port()) for f in standin_forwards(standin)]
    recovery_log = _recovery_boot(tmp_path / "vm" / "disk-0.qcow2", tmp_path / "vm" / "OVMF_VARS_4M.ms.fd",
                                  tmp_path / "serial-recovery.log", dead, recovery)
    failed = [line for line in recovery_log.splitlines() if "Key Vault did not give the key" in line]
    assert len(failed) == 1, recovery_log[-6000:]
    assert "type its passphrase or recovery key at the prompt" in failed[0], failed
    assert "Initrd Root File System" in recovery_log.split(failed[0], 1)[1], recovery_log[-6000:]
    assert _unwraps(standin) == 1, standin.requests  # nothing reached the vault
    # Nothing secret on any console or in the agent's journal: bearer tokens, the escrowed recovery key
    # (typed on the third boot: never echoed).
    assert standin.tokens, "the agent signed in with the managed identity"
    for secret in (recovery, *standin.tokens):
        for console_text in (log, bios_log, recovery_log):
            assert secret not in console_text, "a secret reached the console"
