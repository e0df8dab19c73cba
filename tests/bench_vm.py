"""`make bench` (VM part): ISO build cold and cached, ISO boot to the installer prompt (both for the
Debian-built ISO and the one built from RPM repositories, with their sizes),
install time in the guest, the installed system's boot time, LUKS2 format/open in the
guest with the Key Vault unlock at boot, and on the test distribution with Secure Boot: TPM2
enrolment and the root unlocked by the TPM and by Key Vault. Root; minutes under TCG
(AZL_BENCH_SKIP_TRUSTED=1 leaves out the last, about half an hour)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support import trusted_vm
from tests.support.encrypted_vm import VAULT_URL, run_encrypted_install, standin_forwards
from tests.support.keyvault_standin import running_standin

REPO = Path(__file__).resolve().parents[1]
ISO = REPO / "build" / "azl-installer.iso"
RPM_ISO = REPO / "build" / "azl-installer-rpm.iso"


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return time.perf_counter() - started


def main() -> int:
    if os.geteuid() != 0:
        print("bench_vm: run as root (the ISO build uses chroot)", file=sys.stderr)
        return 2
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="azl-bench-vm-") as tmp:
        work = Path(tmp)
        if os.environ.get("AZL_BENCH_COLD") == "1":  # mmdebstrap from scratch: minutes, and network
            cold = timed([py, "-m", "iso.build", "--out", str(work / "cold.iso"), "--cache-dir", str(work / "c")])
            print(f"ISO build, cold (mmdebstrap included): {cold:.0f} s")
        else:
            print("ISO build, cold: skipped (set AZL_BENCH_COLD=1 to run mmdebstrap from scratch)")
        cached = timed([py, "-m", "iso.build", "--out", str(ISO)])
        print(f"ISO build, live root cached: {cached:.0f} s")
        boot = subprocess.run([py, "-m", "iso.boottest", "--iso", str(ISO), "--firmware", "uefi", "--media",
                               "cdrom"], cwd=REPO, capture_output=True, text=True)
        print(f"ISO boot to the installer prompt (UEFI, CD-ROM): {(boot.stdout or boot.stderr).strip()}")
        rpm_iso(work)
        vm = [py, "-m", "installer", "vm", "--workdir", str(work / "vm"), "--console", str(work / "serial.log"),
              "--timeout", "1800"]
        # --iso only for the install: `vm --no-install` refuses it (it boots the disk installed before).
        install = timed([*vm, "--iso", str(ISO), "--profile", str(REPO / "iso/profiles/vm-uefi.yaml"), "--no-boot"])
        print(f"install in the guest (ISO boot + unattended install of vm-uefi, TCG): {install:.0f} s")
        first_boot = timed([*vm, "--no-install"])
        print(f"installed system: boot to multi-user and first-boot check, then power off: {first_boot:.0f} s")
        encrypted(work)
        if os.environ.get("AZL_BENCH_SKIP_TRUSTED") != "1":
            trusted_launch(work)
    return 0


def rpm_iso(work: Path) -> None:
    """The ISO built from RPM repositories beside the Debian-built one: build time (cold with
    AZL_BENCH_COLD=1: the test distribution and the installer's Python bundle built from scratch), size,
    boot to the installer prompt the same way."""
    py = sys.executable
    if os.environ.get("AZL_BENCH_COLD") == "1":
        cold = timed([py, "-m", "iso.build", "--from", "rpm", "--out", str(work / "cold-rpm.iso"), "--cache-dir",
                      str(work / "c-rpm"), "--work-dir", str(work / "rpm-work")])
        print(f"RPM-built ISO build, cold (test distribution and Python bundle from scratch): {cold:.0f} s")
    cached = timed([py, "-m", "iso.build", "--from", "rpm", "--out", str(RPM_ISO)])
    print(f"RPM-built ISO build, caches warm (dnf installs the live root, dracut, RPMs rebuilt): {cached:.0f} s")
    print(f"ISO size: Debian-built {ISO.stat().st_size / 1e6:.0f} MB, RPM-built {RPM_ISO.stat().st_size / 1e6:.0f} MB")
    boot = subprocess.run([py, "-m", "iso.boottest", "--iso", str(RPM_ISO), "--firmware", "uefi", "--media",
                           "cdrom"], cwd=REPO, capture_output=True, text=True)
    print(f"RPM-built ISO boot to the installer prompt (UEFI, CD-ROM): {(boot.stdout or boot.stderr).strip()}")


def encrypted(work: Path) -> None:
    """LUKS2 format and open in the guest's install, and the Key Vault unlock at the installed boot."""
    with running_standin(work / "standin", public_url=VAULT_URL) as standin:
        standin.add_rsa_key("disk-kek")
        started = time.perf_counter()
        run = run_encrypted_install(ISO, standin, work / "encrypted")
        total = time.perf_counter() - started
    if run.returncode != 0:
        print(f"encrypted install: FAILED (rc {run.returncode}); see {work}/encrypted/serial.log")
        return
    t = run.timings()
    print(f"encrypted install + boot (keyvault-key, argon2id sized by the guest's RAM, TCG): {total:.0f} s")
    print(f"  LUKS2 format in the guest (luksFormat + recovery slot): {t.get('format', float('nan')):.1f} s; "
          f"open: {t.get('open', float('nan')):.1f} s")
    print(f"  boot unlock: Key Vault unwrap in the initramfs {t.get('unlock_fetch', float('nan')):.1f} s, "
          f"key ready {t.get('unlocked_at', float('nan')):.1f} s after the kernel started")



def trusted_launch(work: Path) -> None:
    """The test distribution encrypted with unlock [tpm2, keyvault, passphrase], PCR 7, Secure Boot
    (tests/support/trusted_vm.py): enrolment in the install, then when the root was open at the first
    boot (TPM2, same VM) and at a BIOS boot with a new TPM (Key Vault), since the kernel started."""
    with running_standin(work / "trusted-standin", public_url=VAULT_URL) as standin:
        standin.add_rsa_key("disk-kek")
        started = time.perf_counter()
        installed = trusted_vm.install(ISO, standin, work / "trusted")
        total = time.perf_counter() - started
        if installed.returncode != 0:
            print(f"Secure Boot install of the test distribution: FAILED (rc {installed.returncode}); see "
                  f"{work}/trusted/serial.log")
            return
        tpm = trusted_vm.report(installed.serial)
        kv_log = trusted_vm.bios_boot_with_a_new_tpm(installed.disk, work / "trusted" / "serial-bios.log",
                                                     standin_forwards(standin))
        kv = trusted_vm.report(kv_log)
    print(f"test distribution, Secure Boot + vTPM, encrypted: install and first boot {total:.0f} s (TCG)")
    print(f"  TPM2 enrolment (systemd-cryptenroll, PCR 7): {trusted_vm.enrol_seconds(installed.serial):.1f} s")
    print(f"  root unlocked by the TPM2 at {trusted_vm.seconds(tpm.get('unlocked-at')):.1f} s, by Key Vault "
          f"(new TPM, BIOS) at {trusted_vm.seconds(kv.get('unlocked-at')):.1f} s after the kernel started")


if __name__ == "__main__":
    sys.exit(main())
