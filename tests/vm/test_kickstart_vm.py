"""A kickstart through the ISO's inst.ks=, over disks an earlier install left busy, booted from both disks.

tests/support/kickstart_vm.py has the scenario: the kickstart (an encrypted LVM root as autopart
--type=lvm --encrypted lays it out, /boot on RAID 1 across two disks), the %pre that leaves an
assembled and mounted array, an active volume group with swap in use and an open LUKS mapping on the
disks first, and the boot with the passphrase typed at the initramfs' prompt.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.encrypted_vm import check_stacked_storage, vm_uefi_profile
from tests.support.images import data_disk, guest_cpus
from tests.support.kickstart_vm import PROMPT, REPO, run_kickstart_install

pytestmark = pytest.mark.vm

# What the storage step took down before erasing, one line each (storage/release.py's plan lines).
RELEASED = [r"unmount /run/azl-installer/old-target \(left by an earlier install\)",
            r"stop the array /dev/md\d+", r"swapoff /dev/mapper/old-swap",
            r"deactivate logical volume /dev/mapper/old-root", r"deactivate logical volume /dev/mapper/old-swap",
            r"close the LUKS mapping old-crypt"]


@pytest.mark.minutes(8)  # 504 s in make test (2026-12-02, stop 27's validation; 922 s at stop 26)
def test_a_kickstart_installs_a_stack_over_a_busy_disk_and_boots(installer_iso: Path, tmp_path: Path) -> None:
    run = run_kickstart_install(installer_iso, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:] + run.install[-6000:]
    # The data disk beside the targets (not named by the kickstart) is byte for byte what it was.
    assert re.search(r"other disk \S+other\.img unchanged", run.stderr), run.stderr[-3000:]
    install = run.install
    # The ISO read the kickstart (inst.ks=), and the %pre left the disks busy before the storage step.
    assert "inst.ks=" in install, install[-6000:]
    assert re.search(r"leftover old-root\s+lvm", install) and re.search(r"leftover md\S*\s+raid1", install), \
        install[-6000:]
    for line in RELEASED:
        assert re.search(line, install), f"not released: {line}\n{install[-6000:]}"
    assert "rootdelay=300 left out" in install  # Debian's initramfs would sleep 300 s at every boot

    boot = run.boot
    assert PROMPT in boot, boot[-6000:]
    check = run.check
    assert check, f"the installed system did not report:\n{boot[-6000:]}"
    # The stack, seen from the installed system: / on LVM over LUKS2, /boot on the mirror of both disks.
    check_stacked_storage(check)
    assert re.search(r"^lsblk sys-swap\s+lvm\s+\[SWAP\]\s*$", check, re.M), check
    assert "old" not in re.findall(r"^lsblk (\S+)-", check, re.M), check  # nothing of the earlier stack
    assert "swaps: 1" in check, check
    lines = [line.rstrip("\r") for line in check.splitlines()]
    assert lines[-1] in ("running", "degraded"), check  # multi-user reached
    # The passphrase was typed, never shown.
    assert run.passphrase not in install and run.passphrase not in boot


@pytest.mark.minutes(2)  # 95 s in make test (2026-12-02; 169 s at stop 26; 615 s before -cpu max lost ERMS)
def test_a_failed_install_leaves_the_other_disk_alone(installer_iso: Path, tmp_path: Path) -> None:
    """An install that fails once the target is partitioned and mounted (a pre-install script exits 7): the
    run fails with the step named, and the disk it was not given is byte for byte what it was."""
    profile = vm_uefi_profile()
    profile["scripts"] = {"pre_install": [{"name": "refuse", "body": "echo refusing on purpose; exit 7"}]}
    path = tmp_path / "fails.yaml"
    path.write_text(yaml.safe_dump(profile))
    other = data_disk(tmp_path / "other.img")
    done = subprocess.run(
        [sys.executable, "-m", "installer", "vm", "--iso", str(installer_iso), "--profile", str(path),
         "--other-disk", str(other), "--disk-size", "4GiB", "--cpus", str(guest_cpus()),
         "--console", str(tmp_path / "serial.log"), "--workdir", str(tmp_path / "vm"), "--timeout", "1500"],
        cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=3000)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "the install failed with rc=1" in done.stderr, done.stderr[-3000:]
    assert "refusing on purpose" in done.stderr  # the guest's install log, with the script's output
    assert re.search(r"other disk \S+other\.img unchanged", done.stderr), done.stderr[-3000:]
