"""The `azl-installer vm` flow: install into QEMU disks from the ISO, optionally export a VHD, boot the result.

The flow: [the ISO built into the work directory, when none is given] -> its kernel copied out,
and the accelerator probed with it (KVM when it really runs that kernel, else TCG) -> blank qcow2
disks -> the installer ISO (its kernel booted directly with a profile disk when there is a profile,
else through the firmware for an interactive install) -> the guest's `AZL-INSTALL-RESULT rc=N` line
on the serial console -> [fixed VHD of the first disk] -> the installed first disk booted alone
through the chosen firmware. Everything it writes goes into the work directory, never into a
source checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Protocol

from installer.core.digest import file_sha256
from installer.core.events import EventBus
from installer.core.runner import Runner
from iso.grubcfg import KICKSTART_DISK_ENTRY, KICKSTART_DISK_ID, PROFILE_DISK_ID, PROFILE_LABEL, entry_cmdline
from iso.serve import serving
from iso.vm import disks, qemu
from iso.vm.process import BootOutcome, probe_kvm, run_qemu
from iso.vm.serial import InstallReport, parse_install_result, read_log, tail
from iso.vm.tpm import SWTPM, running_swtpm
from profiles import load_profile, profile_from_text

ISO_NAME = "azl-installer.iso"  # what a build without --iso writes into the work directory
ISO_WORK = "iso-work"  # the ISO build's scratch space (about 2 GB), in the work directory too


class BootFn(Protocol):
    def __call__(
        self, argv: Sequence[str], *, terminal: bool, timeout: float | None, events: EventBus | None = None
    ) -> BootOutcome: ...


class ProbeFn(Protocol):
    def __call__(self, timeout: float = 5.0, *, log: Callable[[str], None] | None = None,
                 kernel: Path | None = None) -> bool: ...


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
    kickstart: Path | None = None  # installed from with inst.ks= instead of a profile
    firmware: qemu.Firmware = "uefi"
    memory_mib: int = 1536
    cpus: int = 2
    console_file: Path | None = None  # None: the serial console is on the terminal
    workdir: Path = Path("azl-vm")
    install: bool = True
    boot: bool = True
    export_vhd: Path | None = None
    timeout: float | None = None
    forwards: tuple[qemu.Forward, ...] = ()
    profile_files: tuple[Path, ...] = ()  # copied beside the profile (what it names by relative path)
    tpm: bool = False  # a swtpm TPM 2.0 whose state is tpm_state, shared by the install and every boot
    secure_boot: bool = False  # OVMF with Microsoft's keys and Secure Boot enforced (UEFI only)
    other_disks: tuple[Path, ...] = ()  # raw images attached beside the targets, checked unchanged at the end
    netboot: Path | None = None  # install by network boot from this `make netboot` directory (served here)
    netboot_port: int | None = None  # ... or from the `azl-installer serve` on this loopback port
    uuid: str | None = None  # the machine's identity (qemu.Machine)
    serial: str | None = None
    mac: str | None = None

    @property
    def netbooted(self) -> bool:
        return self.install and (self.netboot is not None or self.netboot_port is not None)

    def disk(self, index: int) -> Path:
        return self.workdir / f"disk-{index}.qcow2"

    @property
    def serial_log(self) -> Path:
        return self.console_file or self.workdir / "serial.log"

    @property
    def tpm_state(self) -> Path:
        return self.workdir / "tpm"

    @property
    def vars_file(self) -> Path | None:
        # Its own store with Secure Boot: a store once booted without it must not be taken for one with it.
        if self.firmware != "uefi":
            return None
        return self.workdir / ("OVMF_VARS_4M.ms.fd" if self.secure_boot else "OVMF_VARS_4M.fd")


def import_path() -> str:
    """PYTHONPATH for a child python that must import the very packages this process runs (installed,
    or a checkout's under `python -m`), whatever its current directory."""
    return os.pathsep.join(entry for entry in sys.path if entry)


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
        self._menu = ""  # the ISO's /boot/grub/grub.cfg, once its boot files are extracted

    def log(self, message: str) -> None:
        self.events.log(message)

    def run(self) -> int:
        o = self.o
        profile_text = None
        if o.install and o.profile is not None:
            load_profile(o.profile)  # raises ProfileError: exit 2 with every issue printed
            profile_text = o.profile.read_text(encoding="utf-8")
            self._warn_relative_paths(profile_text, o.profile)
        if o.install and o.kickstart is not None:
            # Imported here: pykickstart loads only when a kickstart is given.
            from profiles.kickstart.convert import convert_kickstart

            convert_kickstart(o.kickstart)  # raises KickstartError: exit 2 with every line printed
            profile_text = o.kickstart.read_text(encoding="utf-8")
        self._check_tools()
        o.serial_log.parent.mkdir(parents=True, exist_ok=True)
        if not o.install and not o.disk(0).exists():
            raise VmUsageError(f"--no-install: no installed disk {o.disk(0)} (run without --no-install first)")
        iso = boot_files = None
        if o.install and not o.netbooted:
            iso = self._iso()
            boot_files = self._extract_boot_files(iso)
        # The accelerator is probed with the ISO's kernel (kept in the work directory for --no-install),
        # the kernel the guests run: a ROM alone can pass where a kernel hangs.
        kernel = boot_files.kernel if boot_files else o.workdir / "vmlinuz"
        if o.netboot is not None:
            kernel = o.netboot / "live" / "vmlinuz"
        kvm = self._probe(log=lambda line: self.events.log(line, level="debug"),
                          kernel=kernel if kernel.is_file() else None)
        self.log("accelerator: KVM" if kvm else "accelerator: TCG (KVM is not usable here)")
        machine = qemu.Machine(memory_mib=o.memory_mib, smp=o.cpus, kvm=kvm, firmware=o.firmware, vars_file=o.vars_file,
                               forwards=o.forwards, secure_boot=o.secure_boot, other_disks=o.other_disks,
                               uuid=o.uuid, serial=o.serial, mac=o.mac)
        before = {disk: file_sha256(disk) for disk in o.other_disks}
        status = self._install_and_boot(machine, iso, boot_files, profile_text)
        return self._check_other_disks(before) or status

    def _install_and_boot(self, machine: qemu.Machine, iso: Path | None, boot_files: qemu.DirectBoot | None,
                          profile_text: str | None) -> int:
        o = self.o
        if o.netbooted:
            status = self._install_netboot(machine)
            if status:
                return status
        elif iso is not None and boot_files is not None:
            status = self._install(machine, iso, boot_files, profile_text)
            if status:
                return status
        elif o.vars_file is not None and not o.vars_file.exists():
            shutil.copyfile(qemu.vars_template(o.secure_boot), o.vars_file)
        if o.export_vhd is not None:
            self._export_vhd(o.disk(0), o.export_vhd)
        if o.boot:
            return self._boot_installed(machine, append=o.install)
        return 0

    def _check_other_disks(self, before: dict[Path, str]) -> int:
        """Every disk that was no target is byte for byte what it was, whatever the run's outcome (1 if not)."""
        status = 0
        for disk, digest in before.items():
            now = file_sha256(disk)
            if now == digest:
                self.log(f"other disk {disk} unchanged (sha256 {digest[:16]}...)")
            else:
                self.events.log(f"other disk {disk} CHANGED: sha256 {digest[:16]}... before, {now[:16]}... after",
                                level="error")
                status = 1
        return status

    # --- steps ---------------------------------------------------------------------------

    def _check_tools(self) -> None:
        needed = [qemu.QEMU, "qemu-img"]
        if self.o.install and not self.o.netbooted:
            needed += ["xorriso"] + (["mkfs.ext4"] if self.o.profile is not None else [])
        if self.o.netbooted or self.o.forwards:
            needed.append("busybox")  # each forwarded connection is a `busybox nc` (qemu.Forward)
        missing = [tool for tool in needed if shutil.which(tool) is None]
        if self.o.firmware == "uefi" and not (qemu.OVMF_CODE.exists() and qemu.OVMF_VARS.exists()):
            missing.append(str(qemu.OVMF_CODE))
        if self.o.secure_boot and not (qemu.OVMF_CODE_SECBOOT.exists() and qemu.OVMF_VARS_MS.exists()):
            missing.append(f"{qemu.OVMF_CODE_SECBOOT} and {qemu.OVMF_VARS_MS.name}")
        if self.o.tpm and shutil.which(SWTPM) is None:
            missing.append(SWTPM)
        if missing:
            raise VmUsageError(f"missing {', '.join(missing)}: install the Debian packages qemu-system-x86 "
                               "qemu-utils ovmf xorriso e2fsprogs busybox ipxe-qemu" + (" swtpm" if self.o.tpm else ""))

    def _boot_with_tpm(self, machine: qemu.Machine, argv_for: Callable[[qemu.Machine], list[str]], *,
                       terminal: bool) -> BootOutcome:
        """One QEMU run; with --tpm, beside a swtpm serving the VM's TPM state (stopped after QEMU)."""
        if not self.o.tpm:
            return self._boot(argv_for(machine), terminal=terminal, timeout=self.o.timeout, events=self.events)
        with running_swtpm(self.o.tpm_state) as socket:
            return self._boot(argv_for(replace(machine, tpm_socket=socket)), terminal=terminal,
                              timeout=self.o.timeout, events=self.events)

    def _warn_relative_paths(self, text: str, path: Path) -> None:
        raw = profile_from_text(text, str(path))
        local = [r.baseurl for r in raw.payload.repositories if r.baseurl and "://" not in r.baseurl]
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
        if os.geteuid() != 0:
            raise VmUsageError("no --iso given, and building the ISO needs root (mmdebstrap, chroot): "
                               "run as root or pass --iso ISO")
        iso = self.o.workdir / ISO_NAME
        self.log(f"building the installer ISO: {iso} (the first build takes minutes; the live root is cached)")
        # A child python, not build_iso() here: its hundreds of lines go to vm.log (and to the terminal
        # with --debug), and a failure ends as one CommandError with the build's last lines.
        self.runner.run([sys.executable, "-m", "iso.build", "--out", str(iso), "--work-dir",
                         str(self.o.workdir / ISO_WORK)], env={"PYTHONPATH": import_path()},
                        on_line=lambda line: self.events.log(line, level="debug"))
        if not iso.is_file():
            raise VmError(f"iso.build finished but wrote no {iso}")
        return iso

    def _prepare_disks(self) -> list[Path]:
        o = self.o
        for old in o.workdir.glob("disk-*.qcow2"):
            old.unlink()
        targets = [o.disk(i) for i in range(o.disks)]
        for disk in targets:
            self.runner.run(disks.qcow2_create_argv(disk, o.disk_size))
        if o.vars_file is not None:
            shutil.copyfile(qemu.vars_template(o.secure_boot), o.vars_file)
        shutil.rmtree(o.tpm_state, ignore_errors=True)  # a new install is a new VM: a new, empty TPM too
        self.log(f"{len(targets)} blank disk(s) of {o.disk_size // disks.MiB} MiB in {o.workdir}")
        return targets

    def _profile_image(self, text: str) -> Path:
        stage = self.o.workdir / "profile-disk"
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(mode=0o700)
        (stage / ("ks.cfg" if self.o.kickstart is not None else "profile.yaml")).write_text(text, encoding="utf-8")
        for extra in self.o.profile_files:
            shutil.copyfile(extra, stage / extra.name)
        image = self.o.workdir / "profile.img"
        image.unlink(missing_ok=True)
        content = len(text.encode()) + sum(f.stat().st_size for f in self.o.profile_files)
        size = max(4 * disks.MiB, disks.round_up_mib(2 * content + 2 * disks.MiB))
        fd = os.open(image, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the profile may hold secrets
        os.ftruncate(fd, size)
        os.close(fd)
        self.runner.run(["mkfs.ext4", "-q", "-F", "-L", PROFILE_LABEL, "-d", str(stage), str(image)])
        return image

    def _extract_boot_files(self, iso: Path) -> qemu.DirectBoot:
        kernel, initrd = self.o.workdir / "vmlinuz", self.o.workdir / "initrd.img"
        for path in (kernel, initrd):
            path.unlink(missing_ok=True)
        self.runner.run(disks.extract_boot_files_argv(iso, kernel, initrd))
        for path in (kernel, initrd):
            if not path.is_file():
                raise VmUsageError(f"{iso} has no /live/{path.name}")
        # The kernel arguments of the ISO's own menu entries: a Debian-built ISO (live-boot) and an RPM-built
        # one (dracut) find their live root differently. An ISO without the menu gets the Debian-built one's.
        menu = self.o.workdir / "grub.cfg"
        menu.unlink(missing_ok=True)
        self.runner.run(disks.extract_file_argv(iso, "/boot/grub/grub.cfg", menu), check=False)
        self._menu = menu.read_text(encoding="utf-8", errors="replace") if menu.is_file() else ""
        return qemu.DirectBoot(kernel, initrd, entry_cmdline(self._menu, PROFILE_DISK_ID) or qemu.INSTALL_APPEND)

    def _install(self, machine: qemu.Machine, iso: Path, boot_files: qemu.DirectBoot, profile_text: str | None) -> int:
        o = self.o
        targets = self._prepare_disks()
        direct = profile_image = None
        unattended = profile_text is not None
        if profile_text is not None:  # unattended: the ISO's kernel booted directly, the profile on a disk
            profile_image = self._profile_image(profile_text)
            # With Secure Boot the firmware must start the signed chain (shim, GRUB, kernel) as a real VM
            # would, which also measures into PCR 7 what the installed system's boot will; GRUB's menu
            # then picks the profile disk's entry by itself.
            direct = None if o.secure_boot else boot_files
            if direct is not None and o.kickstart is not None:
                direct = replace(direct, append=entry_cmdline(self._menu, KICKSTART_DISK_ID)
                                 or KICKSTART_DISK_ENTRY.cmdline())
        console = qemu.Console(o.serial_log, terminal=o.console_file is None)
        self.log(f"installing from {iso} ({'unattended' if unattended else 'interactive'}); serial log: {o.serial_log}"
                 + ("; Ctrl+A X stops the VM" if console.terminal else "")
                 + (f"; TPM 2.0 state: {o.tpm_state}" if o.tpm else ""))
        o.serial_log.unlink(missing_ok=True)  # no stale result line from an earlier run
        outcome = self._boot_with_tpm(machine, lambda m: qemu.install_argv(
            m, iso=iso, disks=targets, console=console, direct=direct, profile_image=profile_image),
            terminal=console.terminal)
        return self._judge(outcome, unattended)

    def _install_netboot(self, machine: qemu.Machine) -> int:
        """Blank disks, and the guest boots from the network: from the directory served here for it alone
        (its results land in WORKDIR/results), or from the operator's running `azl-installer serve`."""
        o = self.o
        targets = self._prepare_disks()
        console = qemu.Console(o.serial_log, terminal=o.console_file is None)
        o.serial_log.unlink(missing_ok=True)
        with ExitStack() as stack:
            port = o.netboot_port
            if o.netboot is not None:
                server = stack.enter_context(serving(o.netboot, results=o.workdir / "results"))
                port = server.server_address[1]
                script = (o.netboot / "boot.ipxe").read_text(errors="replace")
                unattended = "inst.profile=" in script or "inst.ks=" in script
            else:
                unattended = True  # a fleet's server: its script names the profiles
            assert port is not None
            self.log(f"installing by network boot from 127.0.0.1:{port} (the guest's {qemu.NETBOOT_SCRIPT}); "
                     f"serial log: {o.serial_log}")
            outcome = self._boot_with_tpm(machine, lambda m: qemu.netboot_argv(
                m, disks=targets, console=console, server_port=port), terminal=console.terminal)
        return self._judge(outcome, unattended)

    def _judge(self, outcome: BootOutcome, unattended: bool) -> int:
        """The install's result from the serial console (the launcher's result line): 0 installed, else 1."""
        o = self.o
        serial = read_log(o.serial_log)
        report = parse_install_result(serial)
        if outcome.timed_out:
            self._fail(f"the install did not finish within {o.timeout:g} s; QEMU was stopped", serial, report)
            return 1
        if report.rc is None and not unattended:
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

    def _fail(self, message: str, serial: str, report: InstallReport) -> None:
        if report.log:
            detail = f"install log from the guest:\n{report.log.rstrip()}"
        else:
            detail = f"last lines of the serial console:\n{tail(serial)}"
        print(detail, file=self._out)
        self.events.log(f"{message} (serial log: {self.o.serial_log})", level="error")

    def _export_vhd(self, disk: Path, out: Path) -> None:
        size = self._virtual_size(disk, "qcow2")
        if size % disks.MiB:
            raise VmUsageError(f"{disk} is {size} bytes, not a whole number of MiB: Azure would refuse the VHD")
        partial = out.with_name(out.name + ".part")
        out.parent.mkdir(parents=True, exist_ok=True)
        self.runner.run(disks.vhd_convert_argv(disk, partial))
        with partial.open("rb") as handle:
            handle.seek(-disks.VHD_FOOTER, os.SEEK_END)
            footer = handle.read(disks.VHD_FOOTER)
        problem = disks.vhd_problem(self._virtual_size(partial, "vpc"), partial.stat().st_size, size, footer)
        if problem:
            partial.unlink()
            raise VmError(f"the VHD written from {disk} is wrong: {problem}")
        partial.replace(out)
        self.log(f"wrote {out}: fixed VHD, {size // disks.MiB} MiB")

    def _virtual_size(self, image: Path, fmt: str) -> int:
        result = self.runner.run(["qemu-img", "info", "--output=json", "-f", fmt, str(image)])
        return int(json.loads(result.output)["virtual-size"])

    def _boot_installed(self, machine: qemu.Machine, *, append: bool) -> int:
        o = self.o
        console = qemu.Console(o.serial_log, terminal=o.console_file is None, append=append)
        # Every disk the install had (those still there): arrays and volume groups may span them.
        installed = [o.disk(i) for i in range(o.disks) if i == 0 or o.disk(i).exists()]
        self.log(f"booting the installed disk{'s' if len(installed) > 1 else ''} "
                 f"{', '.join(map(str, installed))} ({o.firmware}); serial log: {o.serial_log}"
                 + ("; Ctrl+A X stops the VM" if console.terminal else ""))
        outcome = self._boot_with_tpm(machine, lambda m: qemu.installed_argv(m, disks=installed, console=console),
                                      terminal=console.terminal)
        how = "stopped at --timeout" if outcome.timed_out else f"QEMU exited with status {outcome.returncode}"
        self.log(f"the installed system ran {outcome.seconds:.0f} s; {how}")
        return 0 if outcome.timed_out or outcome.returncode == 0 else 1
