"""`azl-installer vm`: install into QEMU disks from the ISO, optionally export a VHD, boot the result.

The flow: blank qcow2 disks -> the installer ISO (booted directly with a profile disk when
--profile is given, else through the firmware for an interactive install) -> the guest's
`AZL-INSTALL-RESULT rc=N` line on the serial console -> [fixed VHD of the first disk] ->
the installed first disk booted alone through the chosen firmware.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from installer import vm
from installer.core.events import EventBus, HumanLogReporter
from installer.core.runner import CommandError, RealRunner, Runner
from installer.vm_process import BootOutcome, Terminated, probe_kvm, run_qemu, termination_raises
from profiles import load_profile, profile_from_text
from profiles.sizes import SizeError, parse_size

REPO = Path(__file__).resolve().parents[1]
ISO_OUT = "build/azl-installer.iso"  # where iso.build writes, relative to the checkout


class BootFn(Protocol):
    def __call__(
        self, argv: Sequence[str], *, terminal: bool, timeout: float | None, events: EventBus | None = None
    ) -> BootOutcome: ...


class ProbeFn(Protocol):
    def __call__(self, timeout: float = 5.0, *, log: Callable[[str], None] | None = None) -> bool: ...


class VmUsageError(Exception):
    """A bad option or a missing tool: one line, exit 2."""


class VmError(Exception):
    """A step failed (a command, the VHD check): one message, exit 1."""


@dataclass(frozen=True)
class VmOptions:
    iso: Path | None = None
    disks: int = 1
    disk_size: int = 8 * 1024**3
    profile: Path | None = None
    firmware: vm.Firmware = "uefi"
    memory_mib: int = 1536
    console_file: Path | None = None  # None: the serial console is on the terminal
    workdir: Path = Path("build/vm")
    install: bool = True
    boot: bool = True
    export_vhd: Path | None = None
    timeout: float | None = None
    forwards: tuple[vm.Forward, ...] = ()
    profile_files: tuple[Path, ...] = ()  # copied beside the profile (what it names by relative path)

    def disk(self, index: int) -> Path:
        return self.workdir / f"disk-{index}.qcow2"

    @property
    def serial_log(self) -> Path:
        return self.console_file or self.workdir / "serial.log"

    @property
    def vars_file(self) -> Path | None:
        return self.workdir / "OVMF_VARS_4M.fd" if self.firmware == "uefi" else None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--iso", type=Path, help="the installer ISO (default: build it with "
                   f"'python -m iso.build --out {ISO_OUT}' when iso/build.py exists)")
    p.add_argument("--disks", type=int, default=1, metavar="N", help="blank target disks to attach (default 1); "
                   "they appear in the guest as /dev/disk/by-id/virtio-AZL-TARGET-0 .. N-1")
    p.add_argument("--disk-size", default="8GiB", metavar="SIZE",
                   help="size of each disk, rounded up to a whole MiB (default 8GiB)")
    p.add_argument("--profile", type=Path, metavar="FILE", help="install unattended with this profile (checked "
                   "first); without it the ISO boots to the interactive installer")
    p.add_argument("--firmware", choices=vm.FIRMWARES, default="uefi", help="UEFI (OVMF) or BIOS (SeaBIOS) "
                   "(default uefi)")
    p.add_argument("--memory", type=int, default=1536, metavar="MiB", help="guest memory (default 1536)")
    p.add_argument("--console", default="terminal", metavar="terminal|FILE",
                   help="serial console on this terminal (Ctrl+A X quits; also logged to WORKDIR/serial.log) "
                   "or only written to FILE (default terminal)")
    p.add_argument("--workdir", type=Path, default=Path("build/vm"), metavar="DIR",
                   help="disks, firmware variables and logs (default build/vm)")
    p.add_argument("--no-install", action="store_true", help="skip the ISO: boot the disk installed earlier")
    p.add_argument("--no-boot", action="store_true", help="do not boot the installed disk afterwards")
    p.add_argument("--export-vhd", type=Path, metavar="OUT", help="write the first disk as a fixed VHD for Azure "
                   "(virtual size a whole MiB), after the install and before booting it")
    p.add_argument("--forward", action="append", default=[], metavar="169.254.169.X:PORT=HOSTPORT",
                   help="let the guest reach a server on 127.0.0.1:HOSTPORT at that address, e.g. a metadata "
                   "endpoint or Key Vault stand-in (repeatable; puts the guest on 169.254.169.0/24)")
    p.add_argument("--profile-file", action="append", default=[], type=Path, metavar="FILE",
                   help="copy FILE beside the profile on its disk, for settings naming files relative to it "
                   "(repeatable)")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="stop QEMU after this long, per boot "
                   "(default: no limit); a timed-out install fails")


def options_from_args(args: argparse.Namespace) -> VmOptions:
    try:
        size = parse_size(args.disk_size)
    except SizeError as err:
        raise VmUsageError(f"--disk-size: {err}") from None
    if size < 64 * vm.MiB:
        raise VmUsageError("--disk-size: a disk needs at least 64MiB")
    if not 1 <= args.disks <= 16:
        raise VmUsageError("--disks: between 1 and 16")
    if args.memory < 256:
        raise VmUsageError("--memory: at least 256 (MiB)")
    if args.timeout is not None and args.timeout <= 0:
        raise VmUsageError("--timeout: a number of seconds above 0")
    console = None if args.console == "terminal" else Path(args.console).absolute()
    if args.no_install and (args.iso or args.profile):
        raise VmUsageError("--no-install boots the existing disk: --iso and --profile do not apply")
    if args.no_install and args.no_boot and args.export_vhd is None:
        raise VmUsageError("--no-install with --no-boot leaves nothing to do (add --export-vhd OUT?)")
    if not args.no_install and args.profile is None and console is not None:
        raise VmUsageError("the interactive installer (no --profile) needs --console terminal")
    try:
        forwards = tuple(vm.parse_forward(text) for text in args.forward)
    except ValueError as err:
        raise VmUsageError(f"--forward {err}") from None
    missing = [str(f) for f in args.profile_file if not f.is_file()]
    if missing:
        raise VmUsageError(f"--profile-file: no such file: {', '.join(missing)}")
    if args.profile_file and args.profile is None:
        raise VmUsageError("--profile-file needs --profile")
    return VmOptions(
        forwards=forwards, profile_files=tuple(f.absolute() for f in args.profile_file),
        iso=args.iso and args.iso.absolute(), disks=args.disks, disk_size=vm.round_up_mib(size),
        profile=args.profile, firmware=args.firmware, memory_mib=args.memory, console_file=console,
        workdir=args.workdir.absolute(),  # absolute paths: the logged QEMU command lines paste anywhere
        install=not args.no_install, boot=not args.no_boot, export_vhd=args.export_vhd, timeout=args.timeout,
    )


def main(args: argparse.Namespace) -> int:
    """Entry point of `azl-installer vm`."""
    options = options_from_args(args)
    options.workdir.mkdir(parents=True, exist_ok=True)
    with (options.workdir / "vm.log").open("a", encoding="utf-8") as log_file:
        events = EventBus(HumanLogReporter(sys.stderr, show_debug=args.debug), HumanLogReporter(log_file))
        try:
            with termination_raises():
                return VmSession(options, events, RealRunner(events)).run()
        except Terminated as err:
            events.log(f"{err}: QEMU stopped", level="error")
            return 128 + err.signum
        except (VmError, CommandError) as err:
            events.log(str(err), level="error")
            return 1


class VmSession:
    def __init__(
        self, options: VmOptions, events: EventBus, runner: Runner, *, boot: BootFn = run_qemu,
        probe: ProbeFn = probe_kvm, console_out: IO[str] | None = None,
    ) -> None:
        self.o = options
        self.events = events
        self.runner = runner
        self._boot = boot
        self._probe = probe
        self._out = console_out or sys.stderr

    def log(self, message: str) -> None:
        self.events.log(message)

    def run(self) -> int:
        o = self.o
        profile_text = None
        if o.install and o.profile is not None:
            load_profile(o.profile)  # raises ProfileError: exit 2 with every issue printed
            profile_text = o.profile.read_text(encoding="utf-8")
            self._warn_relative_paths(profile_text, o.profile)
        self._check_tools()
        o.serial_log.parent.mkdir(parents=True, exist_ok=True)
        if not o.install and not o.disk(0).exists():
            raise VmUsageError(f"--no-install: no installed disk {o.disk(0)} (run without --no-install first)")
        kvm = self._probe(log=lambda line: self.events.log(line, level="debug"))
        self.log("accelerator: KVM" if kvm else "accelerator: TCG (KVM is not usable here)")
        machine = vm.Machine(memory_mib=o.memory_mib, kvm=kvm, firmware=o.firmware, vars_file=o.vars_file,
                             forwards=o.forwards)
        if o.install:
            status = self._install(machine, profile_text)
            if status:
                return status
        elif o.vars_file is not None and not o.vars_file.exists():
            shutil.copyfile(vm.OVMF_VARS, o.vars_file)
        if o.export_vhd is not None:
            self._export_vhd(o.disk(0), o.export_vhd)
        if o.boot:
            return self._boot_installed(machine, append=o.install)
        return 0

    # --- steps ---------------------------------------------------------------------------

    def _check_tools(self) -> None:
        needed = [vm.QEMU, "qemu-img"]
        if self.o.install and self.o.profile is not None:
            needed += ["xorriso", "mkfs.ext4"]
        missing = [tool for tool in needed if shutil.which(tool) is None]
        if self.o.firmware == "uefi" and not (vm.OVMF_CODE.exists() and vm.OVMF_VARS.exists()):
            missing.append(str(vm.OVMF_CODE))
        if missing:
            raise VmUsageError(f"missing {', '.join(missing)}: run scripts/setup-host.sh "
                               "(Debian packages qemu-system-x86 qemu-utils ovmf xorriso e2fsprogs)")

    def _warn_relative_paths(self, text: str, path: Path) -> None:
        raw = profile_from_text(text, str(path))
        local = [r.baseurl for r in raw.payload.repositories if "://" not in r.baseurl]
        if raw.payload.image is not None and not raw.payload.image.path.startswith("/"):
            local.append(raw.payload.image.path)
        if local:
            self.events.log(f"the profile names {', '.join(local)} relative to itself; in the VM only "
                            "profile.yaml is on the profile disk, so these must exist inside the guest",
                            level="warning")

    def _iso(self) -> Path:
        if self.o.iso is not None:
            if not self.o.iso.is_file():
                raise VmUsageError(f"--iso: {self.o.iso} does not exist")
            return self.o.iso
        if not (REPO / "iso" / "build.py").exists():
            raise VmUsageError(f"no --iso given and {REPO} has no iso/build.py to build one")
        iso = REPO / ISO_OUT
        self.log(f"building the installer ISO: {iso}")
        self.runner.run(["env", "-C", str(REPO), sys.executable, "-m", "iso.build", "--out", str(iso)],
                        env={"PYTHONPATH": str(REPO)}, on_line=lambda line: self.events.log(line, level="debug"))
        if not iso.is_file():
            raise VmError(f"iso.build finished but wrote no {iso}")
        return iso

    def _prepare_disks(self) -> list[Path]:
        o = self.o
        for old in o.workdir.glob("disk-*.qcow2"):
            old.unlink()
        disks = [o.disk(i) for i in range(o.disks)]
        for disk in disks:
            self.runner.run(vm.qcow2_create_argv(disk, o.disk_size))
        if o.vars_file is not None:
            shutil.copyfile(vm.OVMF_VARS, o.vars_file)
        self.log(f"{len(disks)} blank disk(s) of {o.disk_size // vm.MiB} MiB in {o.workdir}")
        return disks

    def _profile_image(self, text: str) -> Path:
        stage = self.o.workdir / "profile-disk"
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(mode=0o700)
        (stage / "profile.yaml").write_text(text, encoding="utf-8")
        for extra in self.o.profile_files:
            shutil.copyfile(extra, stage / extra.name)
        image = self.o.workdir / "profile.img"
        image.unlink(missing_ok=True)
        content = len(text.encode()) + sum(f.stat().st_size for f in self.o.profile_files)
        size = max(4 * vm.MiB, vm.round_up_mib(2 * content + 2 * vm.MiB))
        fd = os.open(image, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.ftruncate(fd, size)
        os.close(fd)
        self.runner.run(["mkfs.ext4", "-q", "-F", "-L", vm.PROFILE_LABEL, "-d", str(stage), str(image)])
        return image

    def _extract_boot_files(self, iso: Path) -> vm.DirectBoot:
        kernel, initrd = self.o.workdir / "vmlinuz", self.o.workdir / "initrd.img"
        for path in (kernel, initrd):
            path.unlink(missing_ok=True)
        self.runner.run(["xorriso", "-osirrox", "on", "-indev", str(iso),
                         "-extract", "/live/vmlinuz", str(kernel), "-extract", "/live/initrd.img", str(initrd)])
        for path in (kernel, initrd):
            if not path.is_file():
                raise VmUsageError(f"{iso} has no /live/{path.name}")
        return vm.DirectBoot(kernel, initrd)

    def _install(self, machine: vm.Machine, profile_text: str | None) -> int:
        o = self.o
        iso = self._iso()
        disks = self._prepare_disks()
        direct = profile_image = None
        if profile_text is not None:
            profile_image = self._profile_image(profile_text)
            direct = self._extract_boot_files(iso)
        console = vm.Console(o.serial_log, terminal=o.console_file is None)
        argv = vm.install_argv(machine, iso=iso, disks=disks, console=console, direct=direct,
                               profile_image=profile_image)
        self.log(f"installing from {iso} ({'unattended' if direct else 'interactive'}); serial log: {o.serial_log}"
                 + ("; Ctrl+A X stops the VM" if console.terminal else ""))
        o.serial_log.unlink(missing_ok=True)  # no stale result line from an earlier run
        outcome = self._boot(argv, terminal=console.terminal, timeout=o.timeout, events=self.events)
        serial = o.serial_log.read_text(encoding="utf-8", errors="replace") if o.serial_log.exists() else ""
        report = vm.parse_install_result(serial)
        if outcome.timed_out:
            self._fail(f"the install did not finish within {o.timeout:g} s; QEMU was stopped", serial, report)
            return 1
        if report.rc is None and direct is None:
            # The interactive installer prints no result line: the person at the console ended the
            # VM (Power off or Reboot on the Done screen, or Ctrl+A X); the installed disk is next.
            self.log(f"the installer VM stopped after {outcome.seconds:.0f} s (QEMU exit status {outcome.returncode})")
            return 0
        if report.rc is None:
            self._fail(f"the installer reported no result (QEMU exit status {outcome.returncode} after "
                       f"{outcome.seconds:.0f} s)", serial, report)
            return 1
        if report.rc != 0:
            self._fail(f"the install failed with rc={report.rc} after {outcome.seconds:.0f} s", serial, report)
            return 1
        self.log(f"install finished (rc=0) in {outcome.seconds:.0f} s")
        return 0

    def _fail(self, message: str, serial: str, report: vm.InstallReport) -> None:
        if report.log:
            detail = f"install log from the guest:\n{report.log.rstrip()}"
        else:
            tail = "\n".join(serial.replace("\r", "").splitlines()[-30:])
            detail = f"last lines of the serial console:\n{tail}"
        print(detail, file=self._out)
        self.events.log(f"{message} (serial log: {self.o.serial_log})", level="error")

    def _export_vhd(self, disk: Path, out: Path) -> None:
        size = self._virtual_size(disk, "qcow2")
        if size % vm.MiB:
            raise VmUsageError(f"{disk} is {size} bytes, not a whole number of MiB: Azure would refuse the VHD")
        partial = out.with_name(out.name + ".part")
        out.parent.mkdir(parents=True, exist_ok=True)
        self.runner.run(vm.vhd_convert_argv(disk, partial))
        with partial.open("rb") as handle:
            handle.seek(-vm.VHD_FOOTER, os.SEEK_END)
            footer = handle.read(vm.VHD_FOOTER)
        problem = vm.vhd_problem(self._virtual_size(partial, "vpc"), partial.stat().st_size, size, footer)
        if problem:
            partial.unlink()
            raise VmError(f"the VHD written from {disk} is wrong: {problem}")
        partial.replace(out)
        self.log(f"wrote {out}: fixed VHD, {size // vm.MiB} MiB")

    def _virtual_size(self, image: Path, fmt: str) -> int:
        result = self.runner.run(["qemu-img", "info", "--output=json", "-f", fmt, str(image)])
        return int(json.loads(result.output)["virtual-size"])

    def _boot_installed(self, machine: vm.Machine, *, append: bool) -> int:
        o = self.o
        console = vm.Console(o.serial_log, terminal=o.console_file is None, append=append)
        self.log(f"booting the installed disk {o.disk(0)} ({o.firmware}); serial log: {o.serial_log}"
                 + ("; Ctrl+A X stops the VM" if console.terminal else ""))
        argv = vm.installed_argv(machine, disk=o.disk(0), console=console)
        outcome = self._boot(argv, terminal=console.terminal, timeout=o.timeout, events=self.events)
        how = "stopped at --timeout" if outcome.timed_out else f"QEMU exited with status {outcome.returncode}"
        self.log(f"the installed system ran {outcome.seconds:.0f} s; {how}")
        return 0 if outcome.timed_out or outcome.returncode == 0 else 1
