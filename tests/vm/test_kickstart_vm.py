"""A kickstart through the ISO's inst.ks=, over disks an earlier install left busy, booted from both disks.

tests/support/kickstart_vm.py has the scenario: the kickstart (an encrypted LVM root as autopart
--type=lvm --encrypted lays it out, /boot on RAID 1 across two disks), the %pre that leaves an
assembled and mounted array, an active volume group with swap in use and an open LUKS mapping on the
disks first, and the boot with the passphrase typed at the initramfs' prompt.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.encrypted_vm import check_stacked_storage
from tests.support.kickstart_vm import PROMPT, run_kickstart_install

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
