"""The command line of `azl-installer vm`: its own argparse parser, options checked into VmOptions, main.

installer/cli.py registers `vm` without any options and hands everything after it to main()
here, so the engine's command line never imports this harness; `azl-installer vm --help` is
this parser's help.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from installer.core.events import EventBus, HumanLogReporter
from installer.core.runner import CommandError, RealRunner
from iso.vm import disks, qemu
from iso.vm.process import Terminated, termination_raises
from iso.vm.session import ISO_NAME, ISO_WORK, VmError, VmOptions, VmSession, VmUsageError
from iso.vm.tpm import TpmError
from profiles import ProfileError
from profiles.kickstart.errors import KickstartError
from profiles.sizes import SizeError, parse_size

PROG = "azl-installer vm"
DEFAULT_WORKDIR = Path("azl-vm")
EXIT_FAILED, EXIT_BAD_INPUT = 1, 2
DESCRIPTION = (
    "Install Azure Linux from the installer ISO into QEMU disks (unattended with --profile, else "
    "interactive), optionally export the first disk as a fixed VHD, then boot the installed disk. "
    "Exit codes: 0 done, 1 install failed or timed out, 2 bad input. "
    "'azl-installer --debug vm ...' also shows every command run."
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION)
    p.add_argument("--iso", type=Path, help=f"the installer ISO (default: build one, as root, into "
                   f"WORKDIR/{ISO_NAME} with the ISO builder that comes with this installer; scratch "
                   f"space WORKDIR/{ISO_WORK}, about 2 GB)")
    p.add_argument("--disks", type=int, default=1, metavar="N", help="blank target disks to attach (default 1); "
                   "they appear in the guest as /dev/disk/by-id/virtio-AZL-TARGET-0 .. N-1")
    p.add_argument("--other-disk", type=Path, action="append", default=[], metavar="FILE",
                   help="a raw disk image attached beside the targets at the install and every boot (serial "
                   "AZL-OTHER-0, 1, ...); its SHA-256 must be the same at the end, or the run fails (exit 1); "
                   "repeatable")
    p.add_argument("--disk-size", default="8GiB", metavar="SIZE",
                   help="size of each disk, rounded up to a whole MiB (default 8GiB)")
    p.add_argument("--profile", type=Path, metavar="FILE", help="install unattended with this profile (checked "
                   "first); without it the ISO boots to the interactive installer")
    p.add_argument("--kickstart", type=Path, metavar="KS", help="install unattended from this kickstart instead "
                   "(checked first; the ISO reads it with inst.ks=, as an operator's machine would)")
    p.add_argument("--firmware", choices=qemu.FIRMWARES, default="uefi", help="UEFI (OVMF) or BIOS (SeaBIOS) "
                   "(default uefi)")
    p.add_argument("--memory", type=int, default=1536, metavar="MiB", help="guest memory (default 1536)")
    p.add_argument("--cpus", type=int, default=2, metavar="N", help="guest CPUs (default 2); without KVM, give "
                   "each guest at most the host's cores divided by the guests running at once: an emulated CPU "
                   "left waiting for a host core stalls its guest's kernel (soft lockups)")
    p.add_argument("--console", default="terminal", metavar="terminal|FILE",
                   help="serial console on this terminal (Ctrl+A X quits; also logged to WORKDIR/serial.log) "
                   "or only written to FILE (default terminal)")
    p.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, metavar="WORKDIR",
                   help=f"disks, firmware variables, logs and a built ISO (default ./{DEFAULT_WORKDIR}, "
                   "in the current directory)")
    p.add_argument("--no-install", action="store_true", help="skip the ISO: boot the disk installed earlier")
    p.add_argument("--no-boot", action="store_true", help="do not boot the installed disk afterwards")
    p.add_argument("--export-vhd", type=Path, metavar="OUT", help="write the first disk as a fixed VHD for Azure "
                   "(virtual size a whole MiB), after the install and before booting it")
    p.add_argument("--forward", action="append", default=[], metavar="169.254.169.X:PORT=HOSTPORT",
                   help="let the guest reach a server on 127.0.0.1:HOSTPORT at that address, e.g. a metadata "
                   "endpoint or Key Vault stand-in (repeatable; puts the guest on 169.0.0.0/8, at 169.0.0.15)")
    p.add_argument("--profile-file", action="append", default=[], type=Path, metavar="FILE",
                   help="copy FILE beside the profile (or kickstart) on its disk, for settings naming files "
                   "relative to it, or a kickstart's %%include (repeatable)")
    p.add_argument("--tpm", action="store_true", help="give the VM a TPM 2.0 (swtpm) whose state is kept in "
                   "WORKDIR/tpm, so the install and later boots see the same TPM, as on one Azure VM; delete "
                   "that directory for a new, empty TPM")
    p.add_argument("--secure-boot", action="store_true", help="UEFI with Secure Boot enforced, as on an Azure "
                   "Trusted Launch VM: OVMF with Microsoft's keys enrolled (its variables in WORKDIR/"
                   "OVMF_VARS_4M.ms.fd); the ISO and the installed system boot through signed shim and GRUB")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="stop QEMU after this long, per boot "
                   "(default: no limit); a timed-out install fails")
    net = p.add_argument_group("network boot and the machine's identity (docs/fleet.md)")
    net.add_argument("--netboot", metavar="DIR|PORT", help="install by network boot instead of from the ISO: DIR "
                     "is a `make netboot` directory, served for this VM alone; PORT, an `azl-installer serve` of one "
                     f"already listening on 127.0.0.1:PORT (a fleet sharing one server). The guest reaches it at "
                     f"{qemu.NETBOOT_IP}:80; BIOS only (--firmware bios); its boot.ipxe's inst.profile= decides")
    net.add_argument("--uuid", help="the SMBIOS system UUID (default: QEMU's none)")
    net.add_argument("--serial", help="the SMBIOS serial number (default: none)")
    net.add_argument("--mac", help="the NIC's MAC address, 52:54:00:xx:xx:xx (default: QEMU's)")
    return p


_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_MAC = re.compile(r"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$")
_SERIAL = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def identity_from_args(args: argparse.Namespace) -> tuple[str | None, str | None, str | None]:
    for value, pattern, name, example in ((args.uuid, _UUID, "--uuid", "8c1f0e7a-2b4d-4e5f-9a6b-7c8d9e0f1a2b"),
                                          (args.serial, _SERIAL, "--serial", "AZ-0001"),
                                          (args.mac, _MAC, "--mac", "52:54:00:12:34:56")):
        if value is not None and not pattern.match(value):
            raise VmUsageError(f"{name} {value}: expected something like {example}")
    if args.mac is not None and int(args.mac[:2], 16) & 1:
        raise VmUsageError(f"--mac {args.mac}: a multicast address (odd first byte) cannot be a NIC's")
    return args.uuid, args.serial, args.mac


def netboot_from_args(args: argparse.Namespace) -> tuple[Path | None, int | None]:
    """(a directory to serve, or the port of a server already running)."""
    if args.netboot is None:
        return None, None
    if args.iso or args.profile or args.kickstart or args.no_install:
        raise VmUsageError("--netboot installs from the network: --iso, --profile, --kickstart and --no-install "
                           "do not apply (the boot script's inst.profile= names the profile)")
    if args.firmware != "bios":
        raise VmUsageError("--netboot boots with SeaBIOS and the NIC's iPXE: give --firmware bios")
    if args.netboot.isdigit():
        if not 0 < int(args.netboot) < 65536:
            raise VmUsageError(f"--netboot {args.netboot}: a port is 1-65535")
        return None, int(args.netboot)
    directory = Path(args.netboot).absolute()
    if not (directory / "boot.ipxe").is_file():
        raise VmUsageError(f"--netboot {args.netboot}: no boot.ipxe there (make netboot writes one)")
    return directory, None


def options_from_args(args: argparse.Namespace) -> VmOptions:
    try:
        size = parse_size(args.disk_size)
    except SizeError as err:
        raise VmUsageError(f"--disk-size: {err}") from None
    if size < 64 * disks.MiB:
        raise VmUsageError("--disk-size: a disk needs at least 64MiB")
    if not 1 <= args.disks <= 16:
        raise VmUsageError("--disks: between 1 and 16")
    if args.memory < 256:
        raise VmUsageError("--memory: at least 256 (MiB)")
    if not 1 <= args.cpus <= 64:
        raise VmUsageError("--cpus: between 1 and 64")
    if args.secure_boot and args.firmware != "uefi":
        raise VmUsageError("--secure-boot needs --firmware uefi (Secure Boot is a UEFI feature)")
    if args.timeout is not None and args.timeout <= 0:
        raise VmUsageError("--timeout: a number of seconds above 0")
    console = None if args.console == "terminal" else Path(args.console).absolute()
    if args.profile is not None and args.kickstart is not None:
        raise VmUsageError("give --profile or --kickstart, not both")
    if args.no_install and (args.iso or args.profile or args.kickstart):
        raise VmUsageError("--no-install boots the existing disk: --iso, --profile and --kickstart do not apply")
    if args.no_install and args.no_boot and args.export_vhd is None:
        raise VmUsageError("--no-install with --no-boot leaves nothing to do (add --export-vhd OUT?)")
    if not args.no_install and args.profile is None and args.kickstart is None and console is not None \
            and args.netboot is None:
        raise VmUsageError("the interactive installer (no --profile) needs --console terminal")
    try:
        forwards = tuple(qemu.parse_forward(text) for text in args.forward)
    except ValueError as err:
        raise VmUsageError(f"--forward {err}") from None
    missing = [str(f) for f in args.profile_file if not f.is_file()]
    if missing:
        raise VmUsageError(f"--profile-file: no such file: {', '.join(missing)}")
    if args.profile_file and args.profile is None and args.kickstart is None:
        raise VmUsageError("--profile-file needs --profile or --kickstart")
    others = [f.absolute() for f in args.other_disk]
    if bad := [str(f) for f in others if not f.is_file()]:
        raise VmUsageError(f"--other-disk: no such file: {', '.join(bad)}")
    if len(set(others)) != len(others) or len(others) > 8:
        raise VmUsageError("--other-disk: at most 8, each file once")
    netboot, netboot_port = netboot_from_args(args)
    uuid, serial, mac = identity_from_args(args)
    return VmOptions(
        netboot=netboot, netboot_port=netboot_port, uuid=uuid, serial=serial, mac=mac,
        forwards=forwards, profile_files=tuple(f.absolute() for f in args.profile_file),
        iso=args.iso and args.iso.absolute(), disks=args.disks, disk_size=disks.round_up_mib(size),
        profile=args.profile, kickstart=args.kickstart, firmware=args.firmware, memory_mib=args.memory,
        cpus=args.cpus, console_file=console,
        workdir=args.workdir.absolute(),  # absolute paths: the logged QEMU command lines paste anywhere
        install=not args.no_install, boot=not args.no_boot, export_vhd=args.export_vhd, timeout=args.timeout,
        tpm=args.tpm, secure_boot=args.secure_boot, other_disks=tuple(others),
    )


def main(argv: Sequence[str], *, debug: bool = False) -> int:
    """`azl-installer vm ARGV...`. Bad input: one line on stderr, exit 2 (argparse's own errors exit 2 too).
    Ctrl+C propagates as KeyboardInterrupt once QEMU is stopped (the caller reports it, exit 130)."""
    args = build_parser().parse_args(argv)
    try:
        options = options_from_args(args)
        options.workdir.mkdir(parents=True, exist_ok=True)
        with (options.workdir / "vm.log").open("a", encoding="utf-8") as log_file:
            events = EventBus(HumanLogReporter(sys.stderr, show_debug=debug), HumanLogReporter(log_file))
            try:
                with termination_raises():
                    return VmSession(options, events, RealRunner(events)).run()
            except Terminated as err:
                events.log(f"{err}: QEMU stopped", level="error")
                return 128 + err.signum
            except (VmError, CommandError, TpmError) as err:
                events.log(str(err), level="error")
                return EXIT_FAILED
    except (ProfileError, KickstartError) as err:
        print(err, file=sys.stderr)
        return EXIT_BAD_INPUT
    except VmUsageError as err:
        print(f"azl-installer: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
