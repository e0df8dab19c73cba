"""Boot the ISO in QEMU (TCG) and time how long until a line shows on the serial console.

  python -m iso.boottest --iso build/azl-installer.iso --firmware bios --media cdrom
  python -m iso.boottest --iso build/azl-installer.iso --firmware uefi --media virtio
  python -m iso.boottest --iso build/azl-installer.iso --direct \
      --append "boot=live console=ttyS0 inst.profile=/profiles/vm-uefi.yaml" \
      --target build/target.qcow2 --until 'AZL-INSTALL-RESULT rc=' --timeout 1800

A developer's check of the ISO itself (`azl-installer vm` is the product's way to run VMs).
Only the choices are made here: the command line comes from iso.vm.qemu and QEMU runs, and is
always stopped, in iso.vm.process. QEMU gets user-mode networking with restrict=on or none at all.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from installer.core.events import EventBus, HumanLogReporter
from iso.vm import disks, qemu
from iso.vm.process import MarkerResult, boot_until
from iso.vm.serial import READY_MARKER

# cdrom: an IDE CD-ROM on the pc machine (PIIX); sata-cdrom: on q35's AHCI; virtio: the hybrid ISO as a disk.
Media = Literal["cdrom", "sata-cdrom", "virtio"]
MEDIA: tuple[Media, ...] = ("cdrom", "sata-cdrom", "virtio")


@dataclass(frozen=True)
class BootSpec:
    iso: Path | None  # None: boot the target disk alone (an installed system)
    firmware: qemu.Firmware = "bios"
    media: Media = "cdrom"
    direct: qemu.DirectBoot | None = None
    target: Path | None = None  # a qcow2 target disk with serial AZL-TARGET-0
    network: bool = False
    memory_mib: int = 1536
    profile_disk: Path | None = None  # raw, read-only, e.g. an ext4 image labelled for hd:LABEL=...


def boot_argv(spec: BootSpec, vars_file: Path | None) -> list[str]:
    """The QEMU command line for spec, without its serial port (boot_until adds it)."""
    machine = qemu.Machine(memory_mib=spec.memory_mib, firmware=spec.firmware, vars_file=vars_file,
                           machine_type="q35" if spec.media == "sata-cdrom" else "pc")
    argv = qemu.base_args(machine)
    if spec.iso is not None:
        argv += qemu.cdrom_args(spec.iso, bootindex=None if spec.direct else 0,
                                media="virtio" if spec.media == "virtio" else "cdrom")
    if spec.target is not None:
        argv += qemu.disk_args([spec.target], boot_first=spec.iso is None)
    if spec.profile_disk is not None:
        argv += qemu.profile_disk_args(spec.profile_disk)
    if spec.direct is not None:
        argv += qemu.direct_boot_args(spec.direct)
    if spec.network:
        argv += qemu.net_args()
    return argv


def boot(spec: BootSpec, pattern: str, timeout: float, serial_log: Path) -> MarkerResult:
    """Boot spec until `pattern` (a regular expression) shows on the serial console, or QEMU ends, or timeout."""
    events = EventBus(HumanLogReporter(sys.stderr))
    with tempfile.TemporaryDirectory(prefix="azl-boottest-") as tmp:
        vars_file = None
        if spec.firmware == "uefi":
            vars_file = Path(tmp) / "OVMF_VARS.fd"
            shutil.copyfile(qemu.OVMF_VARS, vars_file)
        return boot_until(boot_argv(spec, vars_file), serial_log, pattern, timeout=timeout, poll=0.5, events=events)


def extract_kernel(iso: Path, dest: Path) -> tuple[Path, Path]:
    """/live/vmlinuz and /live/initrd.img copied out of the ISO into dest."""
    dest.mkdir(parents=True, exist_ok=True)
    kernel, initrd = dest / "vmlinuz", dest / "initrd.img"
    subprocess.run(disks.extract_boot_files_argv(iso, kernel, initrd), check=True, capture_output=True)
    return kernel, initrd


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iso.boottest")
    parser.add_argument("--iso", type=Path, help="the ISO; without it the --target disk boots alone")
    parser.add_argument("--firmware", choices=qemu.FIRMWARES, default="bios")
    parser.add_argument("--media", choices=MEDIA, default="cdrom")
    parser.add_argument("--direct", action="store_true", help="boot /live/vmlinuz with -kernel/-initrd/-append")
    parser.add_argument("--append", default="boot=live console=ttyS0", help="kernel command line with --direct")
    parser.add_argument("--target", type=Path, help="qcow2 target disk (serial AZL-TARGET-0)")
    parser.add_argument("--network", action="store_true", help="user-mode networking (restrict=on)")
    parser.add_argument("--profile-disk", type=Path, help="raw disk image for inst.profile=hd:LABEL=...")
    parser.add_argument("--until", default=READY_MARKER, help="regular expression awaited on the serial console")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--log", type=Path, default=Path("build/boottest-serial.log"))
    args = parser.parse_args(argv)
    direct = None
    if args.iso is None and args.target is None:
        parser.error("give --iso, --target or both")
    if args.iso is None and args.direct:
        parser.error("--direct needs --iso")
    if args.direct:
        kernel, initrd = extract_kernel(args.iso, args.log.parent / "boottest-kernel")
        direct = qemu.DirectBoot(kernel, initrd, args.append)
    spec = BootSpec(args.iso, args.firmware, args.media, direct, args.target, args.network,
                    profile_disk=args.profile_disk)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    result = boot(spec, args.until, args.timeout, args.log)
    if not result.found:
        print(f"boottest: {args.until!r} not seen (QEMU exit {result.returncode}); serial log: {args.log}")
        return 1
    print(f"boottest: {args.until!r} after {result.seconds:.1f} s; serial log: {args.log}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
