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
