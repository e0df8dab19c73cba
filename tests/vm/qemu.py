"""Boot a VM with its serial console in a log file and wait for a marker line; QEMU is always stopped.

    result = boot_until(argv, tmp_path / "serial.log", "LOGIN-OK", timeout=120)
    assert result.found, result.tail()

`argv` is a QEMU command line without a serial port (build it with installer.vm's functions).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from installer import vm
from installer.vm_process import QemuProcess


@dataclass(frozen=True)
class MarkerResult:
    found: bool
    seconds: float  # until the marker appeared, else until QEMU exited or the timeout
    serial: str  # the whole serial log
    returncode: int | None  # QEMU's exit status; None if it was still running when stopped
    timed_out: bool
    pid: int  # QEMU's PID (gone by the time the result is returned)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.serial.replace("\r", "").splitlines()[-lines:])


def read_log(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def boot_until(
    argv: Sequence[str],
    serial_log: Path,
    marker: str,
    *,
    timeout: float,
    wait_for_exit: bool = False,
    poll: float = 0.1,
) -> MarkerResult:
    """Start QEMU with its serial port written to `serial_log` and wait for a line containing `marker`.

    When the marker appears QEMU is stopped at once, unless `wait_for_exit` (then it may power off
    by itself within the same timeout). Whatever happens, no QEMU is left running.
    """
    serial_log.unlink(missing_ok=True)
    full = [*argv, *vm.console_args(vm.Console(serial_log, terminal=False))]
    start = time.monotonic()
    found_at: float | None = None
    with QemuProcess(full) as qemu:
        while True:
            elapsed = time.monotonic() - start
            exited = qemu.poll() is not None
            if found_at is None and marker in read_log(serial_log):
                found_at = elapsed
            if exited or (found_at is not None and not wait_for_exit) or elapsed > timeout:
                break
            time.sleep(poll)
        returncode = qemu.poll()
        timed_out = not exited and elapsed > timeout
        pid = qemu.pid
        assert pid is not None
    seconds = found_at if found_at is not None else time.monotonic() - start
    return MarkerResult(found_at is not None, seconds, read_log(serial_log), returncode, timed_out, pid)


def direct_boot_argv(kernel: Path, initrd: Path, append: str, *, memory_mib: int = 512,
                     firmware: vm.Firmware = "bios", vars_file: Path | None = None) -> list[str]:
    """A TCG VM booting a kernel directly, with no disks and no network."""
    machine = vm.Machine(memory_mib=memory_mib, firmware=firmware, vars_file=vars_file)
    return vm.base_args(machine) + vm.direct_boot_args(vm.DirectBoot(kernel, initrd, append))
