"""The ISO built from RPM repositories (`iso.build --from rpm`) boots with BIOS, from a disk.

The UEFI boots of this ISO (Secure Boot on, unattended; and the interactive installer on the serial
console) are proven by test_testdistro_vm.py and test_ui_serial.py. Here the other firmware and the
other medium at once: SeaBIOS starts the GRUB of the live root's grub2-pc package from the hybrid
image's MBR, as from a USB stick (the image is a virtio disk, not a CD), and dracut's dmsquash-live
must still find the medium by its label. The live system is up when the launcher prints its ready
marker, after naming the installer's RPM as rpm's database knows it.

A few minutes under TCG. Needs root (the ISO build) and the tools scripts/setup-host.sh installs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from iso.boottest import BootSpec, boot
from iso.vm.serial import READY_MARKER

pytestmark = [pytest.mark.vm, pytest.mark.skipif(os.geteuid() != 0, reason="the ISO build needs root")]

BOOT_WAIT = 900.0  # seconds: about 3 minutes alone under TCG, far more beside another guest


@pytest.mark.minutes(4)
def test_the_rpm_built_iso_boots_with_bios_from_a_disk_to_the_installer(rpm_installer_iso: Path,
                                                                         tmp_path: Path) -> None:
    result = boot(BootSpec(rpm_installer_iso, firmware="bios", media="virtio"), READY_MARKER, BOOT_WAIT,
                  tmp_path / "serial.log")
    assert result.found, f"no {READY_MARKER} after {result.seconds:.0f} s:\n{result.tail(60)}"
    print(f"BIOS, ISO as a disk: {READY_MARKER} after {result.seconds:.0f} s")
    package = re.search(r"launcher: (azl-installer-\S+\.noarch) \(rpm -q azl-installer\)", result.serial)
    assert package is not None, result.tail(60)
    assert "GNU GRUB" in result.serial, result.tail(60)  # the menu, drawn on the serial console too
