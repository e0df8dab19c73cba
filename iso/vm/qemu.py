"""QEMU command lines, as pure functions that tests can pin.

The only module that writes a qemu-system-x86_64 argv: `azl-installer vm`, the ISO boot check
and the VM tests all build theirs here. Nothing here starts a process (process.py does).
Every argv is a list of strings, so it can be logged with shlex.join and pasted into a shell.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from iso.grubcfg import PROFILE_DISK_ENTRY

QEMU = "qemu-system-x86_64"
OVMF_DIR = Path("/usr/share/OVMF")
OVMF_CODE = OVMF_DIR / "OVMF_CODE_4M.fd"
OVMF_VARS = OVMF_DIR / "OVMF_VARS_4M.fd"
# Secure Boot, as on an Azure Trusted Launch VM: OVMF built with Secure Boot (it needs SMM, so a q35
# machine with smm=on and its flash writable only from SMM), and a variable store with Microsoft's
# keys enrolled and Secure Boot on (package ovmf), which accepts shim signed by Microsoft's UEFI CA.
OVMF_CODE_SECBOOT = OVMF_DIR / "OVMF_CODE_4M.secboot.fd"
OVMF_VARS_MS = OVMF_DIR / "OVMF_VARS_4M.ms.fd"

PROFILE_SERIAL = "AZL-PROFILE"
TARGET_SERIAL = "AZL-TARGET-{index}"
OTHER_SERIAL = "AZL-OTHER-{index}"
# The kernel command line of an unattended install (the ISO's kernel booted directly): the ISO
# menu's own arguments, plus the profile on the extra disk that profile_disk_args attaches.
# (With Secure Boot the ISO boots through shim and GRUB instead, whose menu picks the same entry.)
INSTALL_APPEND = PROFILE_DISK_ENTRY.cmdline()

Firmware = Literal["uefi", "bios"]
FIRMWARES: tuple[Firmware, ...] = ("uefi", "bios")
# q35 (AHCI: a CD-ROM on it is a SATA one) for everything the installer targets; pc (PIIX IDE)
# only where the ISO boot check wants to see the ISO boot from an IDE CD-ROM.
MachineType = Literal["q35", "pc"]
# How the ISO is attached: a CD-ROM on the machine's IDE/AHCI bus, or a virtio disk (the hybrid
# ISO also boots as a disk, as from a USB stick).
Media = Literal["cdrom", "virtio"]


def qemu_value(path: str | os.PathLike[str]) -> str:
    """A path inside a comma-separated QEMU option: commas are doubled."""
    return os.fspath(path).replace(",", ",,")


@dataclass(frozen=True)
class Forward:
    """A TCP address the guest connects to, served by a program on the host's loopback port.

    How a guest reaches stand-ins for the Azure metadata endpoint (169.254.169.254:80) and a
    Key Vault: QEMU forwards only addresses inside the guest's network, so that network becomes
    169.0.0.0/8, with the guest itself at 169.0.0.15 (systemd-networkd refuses a DHCP lease in the
    link-local 169.254.0.0/16, which the initramfs of a dracut target met); each connection to the
    address is handed to `busybox nc 127.0.0.1 PORT` (a new one per connection).
    """

    guest_ip: str
    guest_port: int
    host_port: int


_FORWARD = re.compile(r"^(169\.254\.169\.(\d{1,3})):(\d{1,5})=(\d{1,5})$")


def parse_forward(text: str) -> Forward:
    """'169.254.169.254:80=8080' -> Forward; raises ValueError with a one-line reason."""
    match = _FORWARD.match(text.strip())
    if not match or not 3 <= int(match[2]) <= 254 or not all(0 < int(n) < 65536 for n in (match[3], match[4])):
        raise ValueError(f"'{text}': expected 169.254.169.X:PORT=HOSTPORT (X 3-254; the host side is always "
                         "127.0.0.1)")
    return Forward(match[1], int(match[3]), int(match[4]))


@dataclass(frozen=True)
class Machine:
    """The parts of a VM shared by every boot: CPU, memory, firmware, forwarded addresses."""

    memory_mib: int = 1536
    kvm: bool = False
    firmware: Firmware = "uefi"
    vars_file: Path | None = None  # the per-VM copy of OVMF_VARS (UEFI only)
    smp: int = 2
    forwards: tuple[Forward, ...] = ()
    machine_type: MachineType = "q35"
    tpm_socket: Path | None = None  # a running swtpm's control socket (iso/vm/tpm.py): the VM has a TPM 2.0
    secure_boot: bool = False  # UEFI with Secure Boot enforced (vars_file: a copy of OVMF_VARS_MS)
    other_disks: tuple[Path, ...] = ()  # raw images beside the targets at every boot (`vm --other-disk`)
    # Who the machine is (installer/core/machine.py picks a profile and names its report by these):
    # the SMBIOS system UUID and serial, and the NIC's MAC. None: QEMU's own (no UUID, no serial).
    uuid: str | None = None
    serial: str | None = None
    mac: str | None = None


@dataclass(frozen=True)
class Console:
    """The guest's serial console: always logged to `log`; also on the terminal when `terminal`."""

    log: Path
    terminal: bool
    append: bool = False  # keep what earlier boots wrote to the log
    socket: Path | None = None  # a Unix socket QEMU listens on, for a program to drive the console


@dataclass(frozen=True)
class DirectBoot:
    """A kernel and initrd given to QEMU directly instead of booting through firmware."""

    kernel: Path
    initrd: Path | None  # None: the kernel alone (the accelerator probe)
    append: str = INSTALL_APPEND


# Under TCG, without ERMS/FSRM: with them the guest kernel clears every page it allocates (init_on_alloc,
# on in the kernels of the field) with `rep stosb`, and glibc copies large buffers with `rep movsb`, both
# emulated one byte at a time. Measured on the live ISO, two guests side by side: with them the first
# process of the live root (systemd, paging itself in from the squashfs) sat over 200 s in
# clear_page_erms (soft lockups in the log) before its first line; without them 97 s.
TCG_CPU = "max,erms=off,fsrm=off"


def accel_args(kvm: bool) -> list[str]:
    return ["-accel", "kvm", "-cpu", "host"] if kvm else ["-accel", "tcg", "-cpu", TCG_CPU]


def firmware_args(firmware: Firmware, vars_file: Path | None, secure_boot: bool = False) -> list[str]:
    """UEFI: OVMF code read-only plus a writable per-VM variable store (with Secure Boot: the SMM build,
    its flash guarded by SMM). BIOS: QEMU's default SeaBIOS."""
    if firmware == "bios":
        if secure_boot:
            raise ValueError("Secure Boot is a UEFI feature: not with BIOS firmware")
        return []
    if vars_file is None:
        raise ValueError("UEFI needs a per-VM copy of the OVMF variable store")
    code = OVMF_CODE_SECBOOT if secure_boot else OVMF_CODE
    return [
        *(["-global", "driver=cfi.pflash01,property=secure,value=on"] if secure_boot else []),
        "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={qemu_value(code)}",
        "-drive", f"if=pflash,format=raw,unit=1,file={qemu_value(vars_file)}",
    ]


def vars_template(secure_boot: bool) -> Path:
    """The variable store a new VM starts from."""
    return OVMF_VARS_MS if secure_boot else OVMF_VARS


def machine_arg(machine: Machine) -> str:
    if not machine.secure_boot:
        return machine.machine_type
    if machine.machine_type != "q35":
        raise ValueError("Secure Boot needs a q35 machine (OVMF's Secure Boot build runs in SMM)")
    return "q35,smm=on"


def tpm_args(socket: Path) -> list[str]:
    """A swtpm control socket as a TPM 2.0 on the TIS interface (OVMF and SeaBIOS both drive it, as
    Linux's tpm_tis does)."""
    return ["-chardev", f"socket,id=chrtpm,path={qemu_value(socket)}",
            "-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-tis,tpmdev=tpm0"]


def base_args(machine: Machine) -> list[str]:
    """QEMU itself: machine type, accelerator, memory, no default devices, no display, -no-reboot."""
    return [
        QEMU, "-machine", machine_arg(machine), *accel_args(machine.kvm), "-smp", str(machine.smp),
        "-m", str(machine.memory_mib), "-no-reboot", "-nodefaults", "-display", "none", "-vga", "none",
        "-monitor", "none", *firmware_args(machine.firmware, machine.vars_file, machine.secure_boot),
        *(tpm_args(machine.tpm_socket) if machine.tpm_socket is not None else []),
        *identity_args(machine),
    ]


def identity_args(machine: Machine) -> list[str]:
    args = ["-uuid", machine.uuid] if machine.uuid else []
    return args + (["-smbios", f"type=1,serial={qemu_value(machine.serial)}"] if machine.serial else [])


def other_disk_args(images: Sequence[Path]) -> list[str]:
    """Disks that are not targets, writable as a real machine's other disks are (serials AZL-OTHER-0..N-1):
    that the installer leaves them alone is checked, not enforced by QEMU."""
    args: list[str] = []
    for index, image in enumerate(images):
        args += ["-drive", f"if=none,id=other{index},file={qemu_value(image)},format=raw",
                 "-device", f"virtio-blk-pci,drive=other{index},serial={OTHER_SERIAL.format(index=index)}"]
    return args


def target_serial(index: int) -> str:
    return TARGET_SERIAL.format(index=index)


def disk_args(disks: Sequence[Path], *, boot_first: bool = False) -> list[str]:
    """Target disks as virtio-blk devices with serials AZL-TARGET-0..N-1 (/dev/disk/by-id/virtio-AZL-TARGET-i)."""
    args: list[str] = []
    for index, disk in enumerate(disks):
        device = f"virtio-blk-pci,drive=disk{index},serial={target_serial(index)}"
        if boot_first and index == 0:
            device += ",bootindex=0"
        args += ["-drive", f"if=none,id=disk{index},file={qemu_value(disk)},format=qcow2,discard=unmap",
                 "-device", device]
    return args


def profile_disk_args(image: Path, *, bootindex: int | None = None) -> list[str]:
    """The small read-only ext4 disk (label AZLPROFILE) that carries profile.yaml into the guest. A boot
    index when the firmware starts the ISO: OVMF connects only the devices in QEMU's boot order, and
    GRUB must see this disk to pick its menu entry."""
    boot = f",bootindex={bootindex}" if bootindex is not None else ""
    return ["-drive", f"if=none,id=profile,file={qemu_value(image)},format=raw,readonly=on",
            "-device", f"virtio-blk-pci,drive=profile,serial={PROFILE_SERIAL}{boot}"]


def cdrom_args(iso: Path, *, bootindex: int | None = None, media: Media = "cdrom") -> list[str]:
    """The ISO, read-only. bootindex None when a kernel is booted directly: that takes index 0 itself
    (QEMU refuses a second one)."""
    boot = f",bootindex={bootindex}" if bootindex is not None else ""
    if media == "virtio":
        return ["-drive", f"if=none,id=cd,file={qemu_value(iso)},format=raw,readonly=on",
                "-device", f"virtio-blk-pci,drive=cd{boot}"]
    return ["-drive", f"if=none,id=cd,file={qemu_value(iso)},format=raw,media=cdrom,readonly=on",
            "-device", f"ide-cd,drive=cd{boot}"]


def direct_boot_args(boot: DirectBoot) -> list[str]:
    initrd = ["-initrd", os.fspath(boot.initrd)] if boot.initrd is not None else []
    return ["-kernel", os.fspath(boot.kernel), *initrd, "-append", boot.append]


def net_args(forwards: Sequence[Forward] = (), *, mac: str | None = None, bootfile: str | None = None) -> list[str]:
    """User-mode networking with restrict=on: the guest reaches nothing outside QEMU but the forwards,
    each to a server on the host's loopback. bootfile: QEMU's DHCP hands it out and the NIC boots first
    (its iPXE ROM, with SeaBIOS, fetches and runs it)."""
    netdev = "user,id=n0,restrict=on"
    if forwards:
        netdev += ",net=169.0.0.0/8,host=169.0.0.2,dhcpstart=169.0.0.15"
        netdev += "".join(f",guestfwd=tcp:{f.guest_ip}:{f.guest_port}-cmd:busybox nc 127.0.0.1 {f.host_port}"
                          for f in forwards)
    if bootfile is not None:
        netdev += f",bootfile={qemu_value(bootfile)}"
    device = "virtio-net-pci,netdev=n0" + (f",mac={mac}" if mac else "") + (",bootindex=0" if bootfile else "")
    return ["-netdev", netdev, "-device", device]


def console_args(console: Console) -> list[str]:
    """Serial port 0. On the terminal, Ctrl+C goes to the guest and Ctrl+A X quits (as with -nographic)."""
    log = qemu_value(console.log)
    append = "on" if console.append else "off"
    if console.socket is not None:  # server, no wait: the guest runs whether or not a client is connected
        chardev = (f"socket,id=ser0,path={qemu_value(console.socket)},server=on,wait=off,"
                   f"logfile={log},logappend={append}")
    elif console.terminal:
        chardev = f"stdio,id=ser0,mux=on,signal=off,logfile={log},logappend={append}"
    else:
        chardev = f"file,id=ser0,path={log},append={append}"
    return ["-chardev", chardev, "-serial", "chardev:ser0"]


# --- whole command lines ------------------------------------------------------------------

def install_argv(
    machine: Machine,
    *,
    iso: Path,
    disks: Sequence[Path],
    console: Console,
    direct: DirectBoot | None = None,
    profile_image: Path | None = None,
) -> list[str]:
    """Boot the installer ISO with blank target disks: directly (unattended) or through firmware from the CD."""
    # The other disks after the targets: the targets stay vda, vdb ... as without them.
    args = base_args(machine) + disk_args(disks) + other_disk_args(machine.other_disks)
    if profile_image is not None:
        args += profile_disk_args(profile_image, bootindex=None if direct else 1)
    args += cdrom_args(iso, bootindex=None if direct else 0)
    if direct is not None:
        args += direct_boot_args(direct)
    return args + net_args(machine.forwards, mac=machine.mac) + console_args(console)


# The address a network-booted guest reaches its boot server at (forwarded to the host's loopback), and
# the iPXE script QEMU's DHCP names; iso/netboot.py's @SERVER@ becomes http://NETBOOT_IP for it.
NETBOOT_IP = "169.254.169.80"
NETBOOT_SCRIPT = f"http://{NETBOOT_IP}/boot.ipxe"


def netboot_argv(machine: Machine, *, disks: Sequence[Path], console: Console, server_port: int) -> list[str]:
    """Blank target disks and no ISO: the NIC boots (SeaBIOS + iPXE) from the boot server on the host's
    loopback port server_port (`azl-installer serve` of a `make netboot` directory)."""
    if machine.firmware != "bios":
        raise ValueError("network boot runs with BIOS firmware (SeaBIOS and the NIC's iPXE)")
    forwards = (*machine.forwards, Forward(NETBOOT_IP, 80, server_port))
    return (base_args(machine) + disk_args(disks) + other_disk_args(machine.other_disks)
            + net_args(forwards, mac=machine.mac, bootfile=NETBOOT_SCRIPT) + console_args(console))


def installed_argv(machine: Machine, *, disks: Sequence[Path], console: Console) -> list[str]:
    """Boot the installed system (all its disks: a RAID 1 /boot or a volume group may span them) from the
    first one, through the firmware."""
    return (base_args(machine) + disk_args(disks, boot_first=True) + other_disk_args(machine.other_disks)
            + net_args(machine.forwards, mac=machine.mac) + console_args(console))


def direct_argv(machine: Machine, boot: DirectBoot) -> list[str]:
    """A VM booting a kernel directly, with no disks, no network and no serial port yet (the VM tests
    add disks; process.boot_until adds the serial port)."""
    return base_args(machine) + direct_boot_args(boot)


# --- accelerator probe -------------------------------------------------------------------

PROBE_EXIT = 3  # isa-debug-exit turns the byte 1 written by the probe ROM into exit status (1 << 1) | 1


def probe_rom() -> bytes:
    """A 64 KiB firmware whose reset vector writes 1 to port 0xf4 and halts: QEMU exits with PROBE_EXIT."""
    rom = bytearray(64 * 1024)
    code = bytes([0xB0, 0x01, 0xE6, 0xF4, 0xF4])  # mov al, 1; out 0xf4, al; hlt
    rom[-16 : -16 + len(code)] = code
    return bytes(rom)


def probe_argv(rom: Path, *, kvm: bool) -> list[str]:
    """A VM that does nothing but run the probe ROM's first instructions on the chosen accelerator."""
    return [QEMU, "-machine", "pc", *accel_args(kvm), "-m", "16", "-nodefaults", "-display", "none",
            "-no-reboot", "-bios", os.fspath(rom), "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]


KERNEL_PROBE_MARKER = "Kernel panic"
# No initrd and no root: the kernel starts, finds no root filesystem and panics; only that
# emergency line is printed (loglevel=1).
KERNEL_PROBE_APPEND = "console=ttyS0 panic=-1 loglevel=1"


def kernel_probe_argv(kernel: Path, *, kvm: bool) -> list[str]:
    """A small VM running `kernel` until it panics for want of a root filesystem (no serial port yet:
    process.boot_until adds it)."""
    return direct_argv(Machine(memory_mib=256, kvm=kvm, firmware="bios", smp=1),
                       DirectBoot(kernel, None, KERNEL_PROBE_APPEND))
