"""Running QEMU: one process per `with` block, always stopped when the block is left.

The only module that starts QEMU (`azl-installer vm`, the ISO boot check and the VM tests all
come here). QEMU is long-running and may own the terminal, so it runs through subprocess directly
rather than the Runner gateway (its argv is still logged, copy-pasteable). A QEMU process is
stopped by PID: SIGTERM, then SIGKILL after a grace period. It also dies with its parent
(PR_SET_PDEATHSIG) if the program that started it is killed outright.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType

from installer.core.events import EventBus
from iso.vm.qemu import KERNEL_PROBE_MARKER, PROBE_EXIT, Console, console_args, kernel_probe_argv, probe_argv, probe_rom
from iso.vm.serial import read_log, tail

GRACE_SECONDS = 5.0
# A working KVM gets a kernel to its panic in about a second; TCG takes a few. A host where KVM
# hangs a kernel loses this long once per `azl-installer vm` run.
KERNEL_PROBE_SECONDS = 15.0
_PR_SET_PDEATHSIG = 1


class Terminated(Exception):
    """SIGTERM or SIGHUP arrived; raised so that cleanup code (stopping QEMU) runs."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"terminated by {signal.Signals(signum).name}")


@contextlib.contextmanager
def termination_raises() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise Terminated (finally blocks run) instead of killing us."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise Terminated(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def die_with_parent() -> None:  # runs in the child between fork and exec (preexec_fn)
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@dataclass(frozen=True)
class BootOutcome:
    returncode: int | None  # None only when QEMU had to be stopped
    timed_out: bool
    seconds: float


class QemuProcess:
    """One QEMU process. Use as a context manager: leaving the block always stops it."""

    def __init__(
        self, argv: Sequence[str], *, terminal: bool = False, quiet: bool = False, events: EventBus | None = None
    ) -> None:
        self.argv = list(argv)
        self.terminal = terminal
        self.quiet = quiet  # discard QEMU's own stderr (its error messages)
        self._events = events
        self._proc: subprocess.Popen[bytes] | None = None
        self._tty: list[object] | None = None
        self._started = 0.0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        if self._events is not None:
            self._events.log("$ " + shlex.join(self.argv))
        if self.terminal and sys.stdin.isatty():
            # QEMU puts the terminal in raw mode for the serial console; a killed QEMU would leave it so.
            with contextlib.suppress(termios.error):
                self._tty = termios.tcgetattr(sys.stdin.fileno())
        self._started = time.monotonic()
        self._proc = subprocess.Popen(
            self.argv,
            stdin=None if self.terminal else subprocess.DEVNULL,
            stdout=None if self.terminal else subprocess.DEVNULL,
            stderr=subprocess.DEVNULL if self.quiet else None,
            preexec_fn=die_with_parent,
        )

    def poll(self) -> int | None:
        """QEMU's exit status, or None while it runs."""
        return self._proc.poll() if self._proc else None

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def wait(self, timeout: float | None = None) -> BootOutcome:
        """Wait for QEMU to exit; on timeout stop it. Ctrl+C/Terminated propagate (the caller's `with` stops it)."""
        assert self._proc is not None, "start() first"
        try:
            code: int | None = self._proc.wait(timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            self.stop()
            code, timed_out = None, True
        self._restore_terminal()
        return BootOutcome(code, timed_out, self.elapsed())

    def stop(self, grace: float = GRACE_SECONDS) -> int | None:
        """SIGTERM, wait up to `grace` seconds, then SIGKILL. Returns the exit status (negative: the signal)."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            self._log(f"stopping QEMU (PID {proc.pid})")
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                self._log(f"QEMU (PID {proc.pid}) ignored SIGTERM for {grace:g} s: killing it", level="warning")
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait()
        self._restore_terminal()
        return proc.returncode

    def _restore_terminal(self) -> None:
        if self._tty is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._tty)  # type: ignore[arg-type]
            self._tty = None

    def _log(self, message: str, level: str = "info") -> None:
        if self._events is not None:
            self._events.log(message, level="warning" if level == "warning" else "info")

    def __enter__(self) -> QemuProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def run_qemu(
    argv: Sequence[str], *, terminal: bool, timeout: float | None, events: EventBus | None = None
) -> BootOutcome:
    """Run QEMU until it exits or `timeout` seconds pass; it is stopped whatever happens."""
    with QemuProcess(argv, terminal=terminal, events=events) as qemu:
        return qemu.wait(timeout)


def probe_kvm(timeout: float = 5.0, *, log: Callable[[str], None] | None = None, kernel: Path | None = None,
              kernel_timeout: float = KERNEL_PROBE_SECONDS) -> bool:
    """True when KVM with `-cpu host` actually runs guests here (not merely /dev/kvm exists).

    First the probe ROM's few instructions: is KVM usable at all. Then, given a kernel (the ISO's),
    that kernel up to its panic for want of a root filesystem: some hosts run the ROM but hang a
    stock Linux kernel without a word (a PVM host: "kvm-pvm: INTERNAL_ERROR in batch emul").
    """
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    with tempfile.TemporaryDirectory(prefix="azl-kvm-probe-") as tmp:
        rom = Path(tmp) / "probe.rom"
        rom.write_bytes(probe_rom())
        argv = probe_argv(rom, kvm=True)
        if log is not None:
            log("$ " + shlex.join(argv))
        with QemuProcess(argv, quiet=True) as qemu:
            outcome = qemu.wait(timeout)
        if outcome.returncode != PROBE_EXIT or kernel is None:
            return outcome.returncode == PROBE_EXIT
        argv = kernel_probe_argv(kernel, kvm=True)
        if log is not None:
            log("$ " + shlex.join(argv))
        result = boot_until(argv, Path(tmp) / "serial.log", KERNEL_PROBE_MARKER, timeout=kernel_timeout, quiet=True)
        if log is not None:
            log(f"KVM ran the kernel to its panic in {result.seconds:.1f} s" if result.found else
                f"KVM did not run the kernel to its panic within {kernel_timeout:g} s")
        return result.found


# --- waiting for a line on the serial console -----------------------------------------------

@dataclass(frozen=True)
class MarkerResult:
    found: bool
    seconds: float  # until the marker appeared, else until QEMU exited or the timeout
    serial: str  # the whole serial log
    returncode: int | None  # QEMU's exit status; None if it was still running when stopped
    timed_out: bool
    pid: int  # QEMU's PID (gone by the time the result is returned)

    def tail(self, lines: int = 40) -> str:
        return tail(self.serial, lines)


def boot_until(
    argv: Sequence[str],
    serial_log: Path,
    pattern: str,
    *,
    timeout: float,
    wait_for_exit: bool = False,
    poll: float = 0.1,
    events: EventBus | None = None,
    quiet: bool = False,
) -> MarkerResult:
    """Start QEMU with its serial port written to `serial_log` and wait for `pattern` (a regular
    expression; a plain marker such as AZL-LIVE-READY matches itself) on the console.

    `argv` has no serial port (qemu.console_args adds it here). When the pattern appears QEMU is
    stopped at once, unless `wait_for_exit` (then it may power off by itself within the same
    timeout). Whatever happens, no QEMU is left running.
    """
    regex = re.compile(pattern)
    serial_log.unlink(missing_ok=True)
    full = [*argv, *console_args(Console(serial_log, terminal=False))]
    found_at: float | None = None
    with QemuProcess(full, events=events, quiet=quiet) as qemu:
        while True:
            elapsed = qemu.elapsed()
            exited = qemu.poll() is not None
            if found_at is None and regex.search(read_log(serial_log)):
                found_at = elapsed
            if exited or (found_at is not None and not wait_for_exit) or elapsed > timeout:
                break
            time.sleep(poll)
        returncode = qemu.poll()
        timed_out = not exited and elapsed > timeout
        pid = qemu.pid
        assert pid is not None
    seconds = found_at if found_at is not None else qemu.elapsed()
    return MarkerResult(found_at is not None, seconds, read_log(serial_log), returncode, timed_out, pid)
