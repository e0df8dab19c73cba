"""The Trusted Launch scenario on the test distribution in QEMU, shared by its VM test and `make bench`.

One install of iso/profiles/azl-vm-uefi.yaml (with a layout for both firmwares) whose root is LUKS2 with
a random key wrapped by the Key Vault stand-in's RSA key, the recovery key escrowed there, and `unlock:
[tpm2, keyvault, passphrase]` with the TPM2 key sealed to PCR 7; installed by `azl-installer vm --tpm
--secure-boot` (OVMF with Microsoft's keys, Secure Boot enforced; a swtpm vTPM), then the installed disk
booted in the ways tests/vm/test_testdistro_vm.py describes. Every boot's console is returned as text.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from iso.vm import qemu
from iso.vm.process import QemuProcess
from iso.vm.tpm import running_swtpm
from tests.support.encrypted_vm import VAULT_URL, forward_args, standin_forwards
from tests.support.images import guest_cpus
from tests.support.keyvault_standin import StandIn
from tests.support.serial_screen import SerialScreen

REPO = Path(__file__).resolve().parents[2]
BOOT_SECONDS = 2400.0  # one QEMU run under TCG (the install took 25 min beside another guest), per boot
AGENT_GAVE_UP = "Key Vault did not give the key"
ROOT_MOUNTED = "Initrd Root File System"  # systemd's "Reached target ... Initrd Root File System."


def profile_text(standin_ca: Path) -> str:
    profile = yaml.safe_load((REPO / "iso/profiles/azl-vm-uefi.yaml").read_text())
    profile["storage"]["auto"]["boot"] = "both"  # the boot loader step adds grub2-pc by itself
    profile["azure"]["trusted_launch"] = True  # the signed chain, checked by the azure step
    # argon2 sized for a TCG guest: the same guest benchmarks iter_time, and pays it at every unlock.
    profile["encryption"] = {
        "enabled": True, "key_source": "keyvault-key", "vault_url": VAULT_URL, "key_name": "disk-kek",
        "identity": {"kind": "managed-identity"}, "ca_bundle": standin_ca.name, "recovery": {"escrow": "keyvault"},
        "unlock": ["tpm2", "keyvault", "passphrase"], "tpm2_pcrs": [7], "pbkdf": {"memory": "64MiB", "iter_time": 500}}
    return yaml.safe_dump(profile, sort_keys=False)


@dataclass(frozen=True)
class Installed:
    returncode: int
    stderr: str
    serial: str  # the install, then the first (UEFI, Secure Boot, same TPM) boot
    workdir: Path  # the VM's: disk-0.qcow2, OVMF_VARS_4M.ms.fd, tpm/

    @property
    def disk(self) -> Path:
        return self.workdir / "disk-0.qcow2"

    @property
    def vars_file(self) -> Path:
        return self.workdir / "OVMF_VARS_4M.ms.fd"


def install(iso: Path, standin: StandIn, work: Path) -> Installed:
    """`azl-installer vm --tpm --secure-boot`: install with UEFI, then boot the disk with the same TPM."""
    work.mkdir(parents=True, exist_ok=True)
    ca, profile, serial = work / "ca.pem", work / "azl-vm-both.yaml", work / "serial.log"
    ca.write_bytes(standin.ca.ca_pem.read_bytes())
    profile.write_text(profile_text(ca))
    done = subprocess.run(
        [sys.executable, "-m", "installer", "vm", "--iso", str(iso), "--profile", str(profile), "--profile-file",
         str(ca), *forward_args(standin_forwards(standin)), "--firmware", "uefi", "--secure-boot", "--cpus",
         str(guest_cpus()), "--tpm", "--console", str(serial), "--workdir", str(work / "vm"), "--disk-size", "6GiB",
         "--timeout", str(BOOT_SECONDS)],
        cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=3 * BOOT_SECONDS,
    )
    return Installed(done.returncode, done.stderr, serial.read_text(errors="replace") if serial.exists() else "",
                     work / "vm")


def bios_boot_with_a_new_tpm(disk: Path, log: Path, forwards: list[qemu.Forward]) -> str:
    """The installed disk through SeaBIOS with a new, empty TPM: nothing can be unsealed, so
    systemd-cryptsetup asks, and nobody types: the Key Vault agent must answer. Returns what the
    console showed once the boot check powered the VM off (or once the agent gave up)."""
    short = Path(tempfile.mkdtemp(prefix="azl-bios-"))  # Unix socket paths: at most 107 bytes
    try:
        with running_swtpm(short / "tpm") as tpm:
            machine = qemu.Machine(firmware="bios", smp=guest_cpus(), tpm_socket=tpm, forwards=tuple(forwards))
            console = qemu.Console(log, terminal=False)
            with QemuProcess(qemu.installed_argv(machine, disks=[disk], console=console)) as guest:
                deadline = time.monotonic() + BOOT_SECONDS
                while guest.poll() is None and time.monotonic() < deadline:
                    time.sleep(5)
                    if AGENT_GAVE_UP in log.read_text(errors="replace"):
                        break  # the boot would wait for the console now: no point in waiting longer
    finally:
        shutil.rmtree(short, ignore_errors=True)
    return log.read_text(errors="replace") if log.exists() else ""


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released): the stand-in, stopped."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def recovery_boot(installed: Installed, log: Path, standin: StandIn, recovery: str) -> str:
    """The installed disk with Secure Boot, a new, empty TPM and no vault (its addresses lead to a closed
    port): wait for the Key Vault agent's line, type the recovery key at systemd's prompt, and stop once
    the root file system is mounted. Returns what the console showed."""
    dead = tuple(qemu.Forward(f.guest_ip, f.guest_port, closed_port()) for f in standin_forwards(standin))
    short = Path(tempfile.mkdtemp(prefix="azl-recovery-"))  # Unix socket paths: at most 107 bytes
    raw = log.with_suffix(".raw")
    try:
        with running_swtpm(short / "tpm") as tpm:
            machine = qemu.Machine(firmware="uefi", vars_file=installed.vars_file, secure_boot=True,
                                   smp=guest_cpus(), tpm_socket=tpm, forwards=dead)
            console = qemu.Console(log, terminal=False, socket=short / "serial.sock")
            screen = SerialScreen(short / "serial.sock", raw_log=raw)
            with QemuProcess(qemu.installed_argv(machine, disks=[installed.disk], console=console)) as guest:
                try:
                    screen.connect(timeout=30)
                    # Read from the bytes, not the screen: the line may wrap after systemd's prompt.
                    for wanted, then in ((AGENT_GAVE_UP, recovery + "\r"), (ROOT_MOUNTED, "")):
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


def report(log: str) -> dict[str, list[str]]:
    """The AZL-BOOT-CHECK section as `key: value` lines, grouped by key."""
    match = re.search(r"AZL-BOOT-CHECK begin\r?\n(.*?)AZL-BOOT-CHECK end", log, re.S)
    grouped: dict[str, list[str]] = {}
    for line in (match.group(1).splitlines() if match else []):
        key, _, value = line.rstrip("\r").partition(": ")
        grouped.setdefault(key, []).append(value)
    return grouped


def seconds(values: list[str] | None) -> float:
    """The first number in a report line (`unlocked-at: 52.3`), NaN when there is none."""
    found = re.search(r"[\d.]+", values[0]) if values else None
    return float(found[0]) if found else float("nan")


def enrol_seconds(install_log: str) -> float:
    found = re.search(r"\[tpm2-enrol\] finished: .*\(([\d.]+) s\)", install_log)
    return float(found[1]) if found else float("nan")
