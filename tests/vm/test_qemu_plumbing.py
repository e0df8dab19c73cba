"""The QEMU plumbing without the real ISO: a kernel + busybox initramfs boots, markers are seen,
timeouts stop QEMU, and the accelerator probe tells a working accelerator from a broken one."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from installer import vm
from installer.vm_process import QemuProcess, probe_kvm
from tests.vm import images
from tests.vm.qemu import boot_until, direct_boot_argv

pytestmark = pytest.mark.vm


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_direct_kernel_boot_prints_the_marker_and_powers_off(kernel: images.Kernel, tmp_path: Path) -> None:
    initrd = images.build_initramfs(tmp_path / "initrd", images.marker_init("AZL-TEST-HELLO"))
    argv = direct_boot_argv(kernel.vmlinuz, initrd, images.SERIAL_APPEND)
    result = boot_until(argv, tmp_path / "serial.log", "AZL-TEST-HELLO", timeout=90, wait_for_exit=True)
    assert result.found, result.tail()
    assert result.returncode == 0 and not result.timed_out and not alive(result.pid)  # `poweroff -f` ended QEMU
    assert result.seconds < 60
    print(f"kernel + busybox initramfs under TCG: marker after {result.seconds:.1f} s")


def test_uefi_direct_boot_and_disk_serials(kernel: images.Kernel, tmp_path: Path) -> None:
    init = images.PRELUDE + "load_modules\nsleep 1\ncat /sys/block/vd*/serial; echo; echo DISKS-LISTED\npoweroff -f\n"
    initrd = images.build_initramfs(tmp_path / "initrd", init, kernel=kernel)
    varstore = tmp_path / "vars.fd"
    varstore.write_bytes(vm.OVMF_VARS.read_bytes())
    disks = [tmp_path / f"d{i}.qcow2" for i in range(2)]
    for disk in disks:
        subprocess.run(vm.qcow2_create_argv(disk, 64 * vm.MiB), check=True)
    argv = direct_boot_argv(kernel.vmlinuz, initrd, images.SERIAL_APPEND, firmware="uefi", vars_file=varstore)
    result = boot_until(argv + vm.disk_args(disks), tmp_path / "serial.log", "DISKS-LISTED", timeout=120)
    assert result.found, result.tail()
    assert "AZL-TARGET-0" in result.serial and "AZL-TARGET-1" in result.serial
    print(f"OVMF + kernel + initramfs under TCG: marker after {result.seconds:.1f} s")


def test_timeout_stops_a_guest_that_never_ends(kernel: images.Kernel, tmp_path: Path) -> None:
    initrd = images.build_initramfs(tmp_path / "initrd", images.PRELUDE + "echo WAITING\nwhile :; do sleep 1; done\n")
    argv = direct_boot_argv(kernel.vmlinuz, initrd, images.SERIAL_APPEND)
    with QemuProcess([*argv, *vm.console_args(vm.Console(tmp_path / "serial.log", terminal=False))]) as qemu:
        pid = qemu.pid
        assert pid is not None
        outcome = qemu.wait(timeout=3)
        assert outcome.timed_out and outcome.returncode is None and 3 <= outcome.seconds < 10
        assert not alive(pid)
    result = boot_until(argv, tmp_path / "serial2.log", "NEVER-PRINTED", timeout=2)
    assert not result.found and result.timed_out and result.returncode is None and not alive(result.pid)


def test_probe_tells_a_working_accelerator_from_a_broken_one(
    kernel: images.Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Run the KVM probe on TCG (which works everywhere) to see its success path, then break it.
    monkeypatch.setattr("installer.vm_process.os.access", lambda path, mode: True)
    monkeypatch.setattr("installer.vm_process.probe_argv", lambda rom, kvm: vm.probe_argv(rom, kvm=False))
    lines: list[str] = []
    assert probe_kvm(log=lines.append) is True
    assert "-accel tcg" in lines[0] and "isa-debug-exit" in lines[0]
    monkeypatch.setattr("installer.vm_process.probe_argv",
                        lambda rom, kvm: [*vm.probe_argv(rom, kvm=False), "-cpu", "no-such-cpu"])
    assert probe_kvm() is False
