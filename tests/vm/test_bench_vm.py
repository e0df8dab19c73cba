"""`make bench`'s vm part on the fake installer ISO (seconds, not the real ISO's minutes): the boot to the
prompt against its goal and the install in the guest run the code the real bench runs."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from tests import bench
from tests.support.benchkit import Inputs, Report, check_rendered

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="QEMU's disks and the vm command's checks need root")


def test_the_vm_part_measures_the_fake_iso(fake_iso: Path, tmp_path: Path) -> None:
    report = Report(progress=io.StringIO())
    bench.run(report, Inputs.tiny(fake_iso), ["vm"], tmp_path)
    check_rendered(report, ["live-boot-to-prompt-seconds"])
    assert any(n.startswith("install in the guest (vm-uefi.yaml") for n in report.numbers), report.numbers


@pytest.mark.minutes(3)  # 246 s alone, niced beside two guests (2026-12-02)
def test_the_fleet_part_network_boots_the_fake_iso(fake_iso: Path, tmp_path: Path) -> None:
    """Four guests network-booted from one `azl-installer serve` (iPXE, the forward, the fake installer, each
    installed disk's boot), against one: the code `make bench` runs on the real ISO."""
    report = Report(progress=io.StringIO())
    bench.run(report, Inputs.tiny(fake_iso), ["fleet"], tmp_path)
    check_rendered(report, ["fleet-4-guests-vs-1"])
    assert any(n.startswith("network boot, install and the installed disk's first boot: 1 guest ")
               for n in report.numbers), report.numbers
    serial = (tmp_path / "fleet/many/guest-3.log").read_text(errors="replace")
    assert "FAKE wrote payload to vda" in serial and "AZL-TEST-INSTALLED-BOOT-OK" in serial, serial[-3000:]
