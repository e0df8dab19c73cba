"""What the Trusted Launch scenario (tests/support/trusted_vm.py) reads from consoles: pinned to the
engine's own progress format and the boot check's lines, so the VM test and the bench cannot drift."""

from __future__ import annotations

import math

from installer.core.events import Event, format_human
from tests.support import trusted_vm


def test_enrolment_time_comes_from_the_steps_finished_line() -> None:
    line = format_human(Event("step-finished", "sealing the volume keys to the TPM 2.0 (5.0 s)", step="tpm2-enrol"))
    assert trusted_vm.enrol_seconds(f"noise\r\n{line}\r\nmore") == 5.0
    other = format_human(Event("step-finished", "installing packages (364.5 s)", step="payload"))
    assert math.isnan(trusted_vm.enrol_seconds(other))


def test_the_boot_check_report_and_its_numbers() -> None:
    log = ("kernel noise\r\nAZL-BOOT-CHECK begin\r\nsecureboot: Secure boot enabled\r\nunlocked-at: 52.318\r\n"
           "luks: /dev/vda3 a\r\nluks: /dev/vda4 b\r\nsecureboot: \r\nAZL-BOOT-CHECK end\r\n")
    report = trusted_vm.report(log)
    assert report["luks"] == ["/dev/vda3 a", "/dev/vda4 b"] and report["secureboot"] == ["Secure boot enabled", ""]
    assert trusted_vm.seconds(report["unlocked-at"]) == 52.318
    assert math.isnan(trusted_vm.seconds(report.get("missing"))) and math.isnan(trusted_vm.seconds([""]))
    assert trusted_vm.report("AZL-BOOT-CHECK begin\r\nnever ended") == {}
