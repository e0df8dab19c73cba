"""The QEMU plumbing without the real ISO: a kernel + busybox initramfs boots, markers are seen,
timeouts stop QEMU, and the accelerator probe tells a working accelerator from a broken one."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from iso.vm import disks, qemu
from iso.vm.process import QemuProcess, boot_until, probe_kvm
from tests.support import images

pytestmark = pytest.mark.vm


def direct_boot_argv(kernel: Path, initrd: Path, *, firmware: qemu.Firmware = "bios",
                     vars_file: Path | None = None) -> list[str]:
    """A small TCG VM booting kernel + initrd directly, with no disks and no network."""
    machine = qemu.Machine(memory_mib=512, firmware=firmware, vars_file=vars_file)
    return qemu.direct_argv(machine, qemu.DirectBoot(kernel, initrd, images.SERIAL_APPEND))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_direct_kernel_boot_prints_the_marker_and_powers_off(kernel: images.Kernel, tmp_path: Path) -> None:
    initrd = images.build_initramfs(tmp_path / "initrd", images.marker_init("AZL-TEST-HELLO"))
    argv = direct_boot_argv(kernel.vmlinuz, initrd)
    result = boot_until(argv, tmp_path / "serial.log", "AZL-TEST-HELLO", timeout=90, wait_for_exit=True)
    assert result.found, result.tail()
    assert result.returncode == 0 and not result.timed_out and not alive(result.pid)  # `poweroff -f` ended QEMU
    assert result.seconds < 60
    print(f"kernel + busybox initramfs under TCG: marker after {result.seconds:.1f} s")


def test_uefi_direct_boot_and_disk_serials(kernel: images.Kernel, tmp_path: Path) -> None:
    init = images.PRELUDE + "load_modules\nsleep 1\ncat /sys/block/vd*/serial; echo; echo DISKS-LISTED\npoweroff -f\n"
    initrd = images.build_initramfs(tmp_path / "initrd", init, kernel=kernel)
    varstore = tmp_path / "vars.fd"
    varstore.write_bytes(qemu.OVMF_VARS.read_bytes())
    targets = [tmp_path / f"d{i}.qcow2" for i in range(2)]
    for disk in targets:
        subprocess.run(disks.qcow2_create_argv(disk, 64 * disks.MiB), check=True)
    argv = direct_boot_argv(kernel.vmlinuz, initrd, firmware="uefi", vars_file=varstore)
    result = boot_until(argv + qemu.disk_args(targets), tmp_path / "serial.log", "DISKS-LISTED", timeout=120)
    assert result.found, result.tail()
    assert "AZL-TARGET-0" in result.serial and "AZL-TARGET-1" in result.serial
    print(f"OVMF + kernel + initramfs under TCG: marker after {result.seconds:.1f} s")


def test_timeout_stops_a_guest_that_never_ends(kernel: images.Kernel, tmp_path: Path) -> None:
    initrd = images.build_initramfs(tmp_path / "initrd", images.PRELUDE + "echo WAITING\nwhile :; do sleep 1; done\n")
    argv = direct_boot_argv(kernel.vmlinuz, initrd)
    with QemuProcess([*argv, *qemu.console_args(qemu.Console(tmp_path / "serial.log", terminal=False))]) as guest:
        pid = guest.pid
        assert pid is not None
        outcome = guest.wait(timeout=3)
        assert outcome.timed_out and outcome.returncode is None and 3 <= outcome.seconds < 10
        assert not alive(pid)
    result = boot_until(argv, tmp_path / "serial2.log", "NEVER-PRINTED", timeout=2)
    assert not result.found and result.timed_out and result.returncode is None and not alive(result.pid)


def test_probe_tells_a_working_accelerator_from_a_broken_one(
    kernel: images.Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Run the KVM probe on TCG (which works everywhere) to see its success path, then break it.
    monkeypatch.setattr("iso.vm.process.os.access", lambda path, mode: True)
    monkeypatch.setattr("iso.vm.process.probe_argv", lambda rom, kvm: qemu.probe_argv(rom, kvm=False))
    lines: list[str] = []
    assert probe_kvm(log=lines.append) is True
    assert "-accel tcg" in lines[0] and "isa-debug-exit" in lines[0]
    monkeypatch.setattr("iso.vm.process.probe_argv",
                        lambda rom, kvm: [*qemu.probe_argv(rom, kvm=False), "-cpu", "no-such-cpu"])
    assert probe_kvm() is False


def test_the_kernel_probe_needs_the_kernel_to_run_to_its_panic(
    kernel: images.Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A host where KVM runs the probe ROM but hangs a kernel (kvm-pvm) is told by the kernel probe:
    # on TCG the kernel panics for want of a root filesystem; started paused (-S), it says nothing.
    monkeypatch.setattr("iso.vm.process.os.access", lambda path, mode: True)
    monkeypatch.setattr("iso.vm.process.probe_argv", lambda rom, kvm: qemu.probe_argv(rom, kvm=False))
    monkeypatch.setattr("iso.vm.process.kernel_probe_argv",
                        lambda k, kvm: qemu.kernel_probe_argv(k, kvm=False))
    lines: list[str] = []
    assert probe_kvm(log=lines.append, kernel=kernel.vmlinuz) is True
    assert f"-kernel {kernel.vmlinuz}" in lines[1] and lines[2].startswith("KVM ran the kernel to its panic in")
    print(lines[2], "(TCG)")
    monkeypatch.setattr("iso.vm.process.kernel_probe_argv",
                        lambda k, kvm: [*qemu.kernel_probe_argv(k, kvm=False), "-S"])
    lines.clear()
    assert probe_kvm(log=lines.append, kernel=kernel.vmlinuz, kernel_timeout=3) is False
    assert lines[-1] == "KVM did not run the kernel to its panic within 3 s"
