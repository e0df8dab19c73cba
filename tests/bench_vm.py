"""`make bench`, part vm: ISO builds cached (and cold with AZL_BENCH_COLD=1), boot to the installer
prompt against its goal (the Debian-built ISO and the one built from RPM repositories, with their sizes),
an install in the guest and the installed system's boot, LUKS2 format/open in the guest with the Key Vault
unlock at boot, and on the test distribution with Secure Boot: TPM2 enrolment and the root unlocked by the
TPM and by Key Vault. Root; tens of minutes under TCG (AZL_BENCH_SKIP_TRUSTED=1 leaves out the last, about
half an hour)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from iso import boottest
from tests.support import trusted_vm
from tests.support.benchkit import TOP, Inputs, Report
from tests.support.encrypted_vm import VAULT_URL, run_encrypted_install, standin_forwards
from tests.support.keyvault_standin import running_standin

ISO = TOP / "build" / "azl-installer.iso"
PROMPT_GOAL_SECONDS = 20.0


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=TOP, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return time.perf_counter() - started


def build_isos(report: Report, inputs: Inputs, work: Path) -> None:
    """Both ISOs, caches warm (cold too with AZL_BENCH_COLD=1: mmdebstrap, the test distribution and the
    installer's Python bundle from scratch, minutes and network)."""
    py = sys.executable
    cold = os.environ.get("AZL_BENCH_COLD") == "1"
    builds: list[tuple[str, Path | None, list[str]]] = [("Debian-built", inputs.iso, []),
                                                         ("RPM-built", inputs.rpm_iso, ["--from", "rpm"])]
    for label, iso, options in builds:
        if iso is None:
            continue
        if cold:
            seconds = timed([py, "-m", "iso.build", *options, "--out", str(work / "cold.iso"), "--cache-dir",
                             str(work / f"cache-{label}"), "--work-dir", str(work / f"work-{label}")])
            report.number(f"{label} ISO build, cold: {seconds:.0f} s")
        seconds = timed([py, "-m", "iso.build", *options, "--out", str(iso)])
        report.number(f"{label} ISO build, caches warm: {seconds:.0f} s; size {iso.stat().st_size / 1e6:.0f} MB")


def boot_to_prompt(report: Report, inputs: Inputs, name: str, iso: Path, log: Path) -> None:
    """UEFI, the ISO as a CD-ROM, until the installer's prompt (its marker) shows on the serial console."""
    result = boottest.boot(boottest.BootSpec(iso, "uefi", "cdrom"), inputs.prompt_pattern, inputs.guest_timeout, log)
    if not result.found:
        raise RuntimeError(f"{iso.name} did not reach {inputs.prompt_pattern} (QEMU exit {result.returncode}); "
                           f"serial log {log}")
    report.target(name, result.seconds, PROMPT_GOAL_SECONDS)
    report.number(f"{iso.name}: boot to the installer prompt (UEFI, CD-ROM, TCG) {result.seconds:.1f} s")


def guest_install(report: Report, inputs: Inputs, work: Path) -> None:
    """An unattended install in the guest (ISO boot included), then the installed disk's first boot."""
    vm = [sys.executable, "-m", "installer", "vm", "--workdir", str(work / "vm"), "--console",
          str(work / "serial.log"), "--timeout", str(inputs.guest_timeout)]
    # --iso only for the install: `vm --no-install` refuses it (it boots the disk installed before).
    install = timed([*vm, "--iso", str(inputs.iso), "--profile", str(inputs.guest_profile), "--no-boot"])
    first_boot = timed([*vm, "--no-install"])
    report.number(f"install in the guest ({inputs.guest_profile.name}, ISO boot included, TCG): {install:.0f} s; "
                  f"the installed system's boot to its first-boot check and power-off: {first_boot:.0f} s")


def part(report: Report, inputs: Inputs, work: Path) -> None:
    if inputs.build_isos:
        build_isos(report, inputs, work)
    boot_to_prompt(report, inputs, "live-boot-to-prompt-seconds", inputs.iso, work / "boot.log")
    if inputs.rpm_iso is not None:
        boot_to_prompt(report, inputs, "live-boot-to-prompt-seconds-rpm-iso", inputs.rpm_iso, work / "boot-rpm.log")
    guest_install(report, inputs, work)
    if inputs.slow_guests:
        encrypted(report, inputs.iso, work)
        if os.environ.get("AZL_BENCH_SKIP_TRUSTED") != "1":
            trusted_launch(report, inputs.iso, work)


def encrypted(report: Report, iso: Path, work: Path) -> None:
    """LUKS2 format and open in the guest's install, and the Key Vault unlock at the installed boot."""
    with running_standin(work / "standin", public_url=VAULT_URL) as standin:
        standin.add_rsa_key("disk-kek")
        started = time.perf_counter()
        run = run_encrypted_install(iso, standin, work / "encrypted")
        total = time.perf_counter() - started
    if run.returncode != 0:
        raise RuntimeError(f"encrypted install failed (rc {run.returncode}); see {work}/encrypted/serial.log")
    t = run.timings()
    report.number(f"encrypted install + boot (keyvault-key, argon2id sized by the guest's RAM, TCG): {total:.0f} s")
    report.number(f"  LUKS2 format in the guest (luksFormat + recovery slot): {t.get('format', float('nan')):.1f} s; "
                  f"open: {t.get('open', float('nan')):.1f} s")
    report.number(f"  boot unlock: Key Vault unwrap in the initramfs {t.get('unlock_fetch', float('nan')):.1f} s, "
                  f"key ready {t.get('unlocked_at', float('nan')):.1f} s after the kernel started")


def trusted_launch(report: Report, iso: Path, work: Path) -> None:
    """The test distribution encrypted with unlock [tpm2, keyvault, passphrase], PCR 7, Secure Boot
    (tests/support/trusted_vm.py): enrolment in the install, then when the root was open at the first
    boot (TPM2, same VM) and at a BIOS boot with a new TPM (Key Vault), since the kernel started."""
    with running_standin(work / "trusted-standin", public_url=VAULT_URL) as standin:
        standin.add_rsa_key("disk-kek")
        started = time.perf_counter()
        installed = trusted_vm.install(iso, standin, work / "trusted")
        total = time.perf_counter() - started
        if installed.returncode != 0:
            raise RuntimeError(f"Secure Boot install of the test distribution failed (rc {installed.returncode}); see "
                               f"{work}/trusted/serial.log")
        tpm = trusted_vm.report(installed.serial)
        kv_log = trusted_vm.bios_boot_with_a_new_tpm(installed.disk, work / "trusted" / "serial-bios.log",
                                                     standin_forwards(standin))
        kv = trusted_vm.report(kv_log)
    report.number(f"test distribution, Secure Boot + vTPM, encrypted: install and first boot {total:.0f} s (TCG)")
    report.number(f"  TPM2 enrolment (systemd-cryptenroll, PCR 7): {trusted_vm.enrol_seconds(installed.serial):.1f} s")
    report.number(f"  root unlocked by the TPM2 at {trusted_vm.seconds(tpm.get('unlocked-at')):.1f} s, by Key Vault "
                  f"(new TPM, BIOS) at {trusted_vm.seconds(kv.get('unlocked-at')):.1f} s after the kernel started")
