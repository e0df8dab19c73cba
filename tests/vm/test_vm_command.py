"""`azl-installer vm` end to end under TCG, with a fake installer ISO (tests/support/images.py) that has the
real one's shape: /live/vmlinuz + /live/initrd.img, AZL-INSTALL-RESULT on the serial console."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iso.vm import disks, qemu
from tests.support import images

pytestmark = pytest.mark.vm

PROFILE = """storage:
  disks: [{path: /dev/disk/by-id/virtio-AZL-TARGET-0}]
payload:
  repositories: [{name: iso, baseurl: "file:///run/live/medium/repo"}]
  packages: [bash]
system:
  hostname: HOSTNAME
"""


def azl_vm(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "installer", "vm", *map(str, args)], cwd=images.REPO,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)


def profile(tmp_path: Path, hostname: str) -> Path:
    path = tmp_path / f"{hostname}.yaml"
    path.write_text(PROFILE.replace("HOSTNAME", hostname))
    return path


def other_disk(tmp_path: Path) -> Path:
    """A disk that is no target, with content (as a data disk has)."""
    path = tmp_path / "other.img"
    path.write_bytes(os.urandom(1024 * 1024) * 4)
    return path


def test_unattended_uefi_install_export_and_boot(fake_iso: Path, tmp_path: Path) -> None:
    console, vhd = tmp_path / "console.log", tmp_path / "out" / "azl.vhd"
    start = time.monotonic()
    done = azl_vm("--iso", fake_iso, "--profile", profile(tmp_path, "vmtest"), "--disks", "2", "--disk-size", "100MiB",
                  "--console", console, "--workdir", tmp_path / "wd", "--export-vhd", vhd, "--timeout", "180",
                  "--other-disk", other_disk(tmp_path))
    seconds = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    assert f"other disk {tmp_path / 'other.img'} unchanged (sha256 " in done.stderr
    serial = console.read_text(errors="replace")
    for line in ("FAKE disk vda serial=AZL-TARGET-0", "FAKE disk vdb serial=AZL-TARGET-1",
                 "FAKE disk vdc serial=AZL-OTHER-0", "FAKE disk vdd serial=AZL-PROFILE", "FAKE cdrom sr0",
                 "FAKE profile-label /dev/vdd",
                 "FAKE profile:   hostname: vmtest", f"FAKE cmdline {qemu.INSTALL_APPEND}", "FAKE wrote payload to vda",
                 "AZL-INSTALL-RESULT rc=0", "AZL-TEST-INSTALLED-BOOT-OK"):
        assert line in serial, line
    assert serial.index("AZL-INSTALL-RESULT rc=0") < serial.index("AZL-TEST-INSTALLED-BOOT-OK")
    assert "accelerator: TCG" in done.stderr or "accelerator: KVM" in done.stderr
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", "-f", "vpc", str(vhd)],
                                     capture_output=True, text=True, check=True).stdout)
    assert info["virtual-size"] == 100 * disks.MiB and vhd.stat().st_size == 100 * disks.MiB + 512
    assert disks.vhd_footer(vhd.read_bytes()[-512:]) == (100 * disks.MiB, 2)
    print(f"unattended UEFI install + VHD export + installed-disk boot: {seconds:.1f} s")


def test_failed_install_exits_1_and_shows_the_guest_log(fake_iso: Path, tmp_path: Path) -> None:
    done = azl_vm("--iso", fake_iso, "--profile", profile(tmp_path, "fail-me"), "--firmware", "bios",
                  "--console", tmp_path / "c.log", "--workdir", tmp_path / "wd", "--timeout", "120",
                  "--other-disk", other_disk(tmp_path))
    assert done.returncode == 1, done.stderr
    assert "install log from the guest:\nstep partition: FAKE failure for the test" in done.stderr
    assert "the install failed with rc=3" in done.stderr
    assert "booting the installed disk" not in done.stderr
    assert f"other disk {tmp_path / 'other.img'} unchanged" in done.stderr  # checked after a failure too


def test_an_install_that_writes_to_another_disk_fails_the_run(fake_iso: Path, tmp_path: Path) -> None:
    """The check can fail: the fake installer, told to be careless, writes to the disk that is no target."""
    done = azl_vm("--iso", fake_iso, "--profile", profile(tmp_path, "careless"), "--firmware", "bios", "--no-boot",
                  "--console", tmp_path / "c.log", "--workdir", tmp_path / "wd", "--timeout", "120",
                  "--other-disk", other_disk(tmp_path))
    assert "FAKE wrote to the other disk vdb" in (tmp_path / "c.log").read_text(errors="replace")
    assert done.returncode == 1, done.stderr
    assert re.search(rf"other disk {re.escape(str(tmp_path / 'other.img'))} CHANGED: sha256 \S+ before, \S+ after",
                     done.stderr), done.stderr


def test_interactive_install_boots_the_iso_through_seabios(fake_iso: Path, tmp_path: Path) -> None:
    """No --profile: the ISO boots from the CD through the firmware; the console is this process's stdio."""
    done = azl_vm("--iso", fake_iso, "--firmware", "bios", "--no-boot", "--workdir", tmp_path / "wd",
                  "--timeout", "120")
    assert done.returncode == 0, done.stderr
    assert "FAKE cdrom sr0" in done.stdout and "AZL-INSTALL-RESULT rc=0" in done.stdout
    assert "inst.profile" not in done.stdout  # GRUB from the ISO chose the command line
    assert "AZL-INSTALL-RESULT rc=0" in (tmp_path / "wd" / "serial.log").read_text(errors="replace")


def qemu_child(pid: int, timeout: float = 30) -> int:
    """The PID of the QEMU that process `pid` started (the KVM probe's QEMU is skipped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            if b"q35" in cmdline:
                return int(child)
        time.sleep(0.1)
    raise AssertionError("QEMU did not start")


def gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return True  # exited, waiting for its parent to reap it
        time.sleep(0.1)
    return False


def _as_on_a_terminal() -> None:
    # A command run in the foreground of a terminal gets SIGINT's default action. A test run started in
    # the background of a script inherits SIGINT ignored (POSIX shells do that to background jobs), and
    # Python then never raises KeyboardInterrupt: the case under test would not be the Ctrl+C one.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130),
                                               (signal.SIGKILL, -9)])
def test_qemu_is_stopped_when_the_command_is_interrupted(
    kernel: images.Kernel, tmp_path: Path, signum: int, status: int
) -> None:
    wd = tmp_path / "wd"
    wd.mkdir()
    subprocess.run(disks.qcow2_create_argv(wd / "disk-0.qcow2", 64 * disks.MiB), check=True)  # nothing to boot
    # stderr to a file, not a pipe nobody reads until the end: the test must not be able to block the
    # command, and a failure shows what the command said.
    stderr = tmp_path / "stderr.txt"
    with stderr.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "installer", "vm", "--no-install", "--firmware", "bios",
                                 "--workdir", str(wd), "--console", str(tmp_path / "c.log")],
                                cwd=images.REPO, stdin=subprocess.DEVNULL, stderr=err, preexec_fn=_as_on_a_terminal)
    try:
        qemu_pid = qemu_child(proc.pid)
        time.sleep(0.5)
        sent = time.monotonic()
        proc.send_signal(signum)
        try:
            code = proc.wait(60)  # QEMU gets SIGTERM and up to its grace period first; slow on a loaded host
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running 60 s after {signal.Signals(signum).name}; stderr:\n"
                                 + stderr.read_text()) from None
        assert code == status, stderr.read_text()
        print(f"{signal.Signals(signum).name}: exited {time.monotonic() - sent:.1f} s after the signal")
        assert gone(qemu_pid), f"QEMU {qemu_pid} survived {signal.Signals(signum).name}"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_timeout_stops_the_installed_boot(kernel: images.Kernel, tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    wd.mkdir()
    subprocess.run(disks.qcow2_create_argv(wd / "disk-0.qcow2", 64 * disks.MiB), check=True)
    start = time.monotonic()
    done = azl_vm("--no-install", "--workdir", wd, "--console", tmp_path / "c.log", "--timeout", "4")
    assert done.returncode == 0, done.stderr
    assert "stopped at --timeout" in done.stderr and time.monotonic() - start < 30
