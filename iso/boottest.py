"""Boot the ISO in QEMU (TCG) and time how long until a line shows on the serial console.

  python -m iso.boottest --iso build/azl-installer.iso --firmware bios --media cdrom
  python -m iso.boottest --iso build/azl-installer.iso --firmware uefi --media virtio
  python -m iso.boottest --iso build/azl-installer.iso --direct \
      --append "boot=live console=ttyS0 inst.profile=/profiles/vm-uefi.yaml" \
      --target build/target.qcow2 --until 'AZL-INSTALL-RESULT rc=' --timeout 1800

A developer's check of the ISO itself (the installer's `azl-installer vm` is the product's
way to run VMs). QEMU gets user-mode networking with restrict=on or none at all, and is
always stopped when the wait ends.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
READY = r"AZL-LIVE-READY"
TARGET_SERIAL = "AZL-TARGET-0"

Firmware = Literal["bios", "uefi"]
Media = Literal["cdrom", "sata-cdrom", "virtio"]


@dataclass(frozen=True)
class BootSpec:
    iso: Path | None  # None: boot the target disk alone (an installed system)
    firmware: Firmware = "bios"
    media: Media = "cdrom"
    direct: tuple[Path, Path, str] | None = None  # kernel, initrd, append
    target: Path | None = None  # a qcow2 target disk with serial AZL-TARGET-0
    network: bool = False
    memory_mib: int = 1536
    profile_disk: Path | None = None  # raw, read-only, e.g. an ext4 image labelled for hd:LABEL=...


def qemu_argv(spec: BootSpec, serial_log: Path, vars_file: Path | None) -> list[str]:
    argv = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-smp", "2", "-m", str(spec.memory_mib),
            "-machine", "q35" if spec.media == "sata-cdrom" else "pc", "-no-reboot", "-nodefaults",
            "-display", "none", "-vga", "none", "-monitor", "none", "-serial", f"file:{serial_log}"]
    if spec.firmware == "uefi":
        assert vars_file is not None
        argv += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                 "-drive", f"if=pflash,format=raw,unit=1,file={vars_file}"]
    iso = str(spec.iso)
    # Direct kernel boot takes bootindex 0 itself (QEMU refuses a second one).
    boot_first = "" if spec.direct is not None else ",bootindex=0"
    if spec.iso is None:
        pass
    elif spec.media == "virtio":
        argv += ["-drive", f"if=none,id=live,file={iso},format=raw,readonly=on",
                 "-device", f"virtio-blk-pci,drive=live{boot_first}"]
    else:  # pc: IDE (PIIX) CD-ROM; q35: its AHCI controller, a SATA CD-ROM
        argv += ["-drive", f"if=none,id=live,file={iso},format=raw,media=cdrom,readonly=on",
                 "-device", f"ide-cd,drive=live{boot_first}"]
    if spec.target is not None:
        argv += ["-drive", f"if=none,id=target,file={spec.target},format=qcow2,cache=unsafe",
                 "-device", f"virtio-blk-pci,drive=target,serial={TARGET_SERIAL}"
                 + (",bootindex=0" if spec.iso is None else "")]
    if spec.profile_disk is not None:
        argv += ["-drive", f"if=none,id=profile,file={spec.profile_disk},format=raw,readonly=on",
                 "-device", "virtio-blk-pci,drive=profile,serial=AZL-PROFILE"]
    if spec.direct is not None:
        kernel, initrd, append = spec.direct
        argv += ["-kernel", str(kernel), "-initrd", str(initrd), "-append", append]
    if spec.network:
        argv += ["-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-pci,netdev=n0"]
    return argv


@dataclass(frozen=True)
class BootResult:
    seconds: float | None  # until the pattern showed; None: it never did
    exit_code: int | None  # QEMU's, if it ended by itself (power-off) before the wait ended
    serial: str


def boot_until(spec: BootSpec, pattern: str, timeout: float, serial_log: Path) -> BootResult:
    regex = re.compile(pattern)
    serial_log.write_text("")
    with tempfile.TemporaryDirectory(prefix="azl-boottest-") as tmp:
        vars_file = None
        if spec.firmware == "uefi":
            vars_file = Path(tmp) / "OVMF_VARS.fd"
            shutil.copyfile(OVMF_VARS, vars_file)
        argv = qemu_argv(spec, serial_log, vars_file)
        print(f"boottest: {' '.join(argv)}", file=sys.stderr)
        start = time.monotonic()
        found: float | None = None
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        try:
            while time.monotonic() - start < timeout:
                text = serial_log.read_text(errors="replace")
                if found is None and regex.search(text):
                    found = time.monotonic() - start
                    break
                if proc.poll() is not None:
                    break
                time.sleep(0.5)
        finally:
            code = proc.poll()
            if code is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        return BootResult(found, code, serial_log.read_text(errors="replace"))


def extract_kernel(iso: Path, dest: Path) -> tuple[Path, Path]:
    """/live/vmlinuz and /live/initrd.img copied out of the ISO (xorriso, no loop mount)."""
    dest.mkdir(parents=True, exist_ok=True)
    kernel, initrd = dest / "vmlinuz", dest / "initrd.img"
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(iso), "-extract", "/live/vmlinuz", str(kernel),
                    "-extract", "/live/initrd.img", str(initrd)], check=True, capture_output=True)
    return kernel, initrd


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iso.boottest")
    parser.add_argument("--iso", type=Path, help="the ISO; without it the --target disk boots alone")
    parser.add_argument("--firmware", choices=["bios", "uefi"], default="bios")
    parser.add_argument("--media", choices=["cdrom", "sata-cdrom", "virtio"], default="cdrom")
    parser.add_argument("--direct", action="store_true", help="boot /live/vmlinuz with -kernel/-initrd/-append")
    parser.add_argument("--append", default="boot=live console=ttyS0", help="kernel command line with --direct")
    parser.add_argument("--target", type=Path, help="qcow2 target disk (serial AZL-TARGET-0)")
    parser.add_argument("--network", action="store_true", help="user-mode networking (restrict=on)")
    parser.add_argument("--profile-disk", type=Path, help="raw disk image for inst.profile=hd:LABEL=...")
    parser.add_argument("--until", default=READY, help="regular expression awaited on the serial console")
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
        direct = (kernel, initrd, args.append)
    spec = BootSpec(args.iso, args.firmware, args.media, direct, args.target, args.network,
                    profile_disk=args.profile_disk)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    result = boot_until(spec, args.until, args.timeout, args.log)
    if result.seconds is None:
        print(f"boottest: {args.until!r} not seen (QEMU exit {result.exit_code}); serial log: {args.log}")
        return 1
    print(f"boottest: {args.until!r} after {result.seconds:.1f} s; serial log: {args.log}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
