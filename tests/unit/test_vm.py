"""The harness's QEMU command lines, disk images and serial-console parsing: pure functions, no QEMU needed."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from iso import boottest, grubcfg
from iso.vm import disks, qemu
from iso.vm.serial import InstallReport, parse_install_result

CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
TCG_BASE = ("qemu-system-x86_64 -machine q35 -accel tcg -cpu max,erms=off,fsrm=off -smp 2 -m 1536 -no-reboot "
            "-nodefaults -display none -vga none -monitor none")


def test_uefi_unattended_install_argv_is_pinned() -> None:
    machine = qemu.Machine(vars_file=Path("/w/OVMF_VARS_4M.fd"))
    argv = qemu.install_argv(
        machine, iso=Path("/b/azl.iso"), disks=[Path("/w/disk-0.qcow2"), Path("/w/disk-1.qcow2")],
        console=qemu.Console(Path("/w/serial.log"), terminal=False),
        direct=qemu.DirectBoot(Path("/w/vmlinuz"), Path("/w/initrd.img")), profile_image=Path("/w/profile.img"),
    )
    assert shlex.join(argv) == (
        f"{TCG_BASE} "
        f"-drive if=pflash,format=raw,unit=0,readonly=on,file={CODE} "
        "-drive if=pflash,format=raw,unit=1,file=/w/OVMF_VARS_4M.fd "
        "-drive if=none,id=disk0,file=/w/disk-0.qcow2,format=qcow2,discard=unmap "
        "-device virtio-blk-pci,drive=disk0,serial=AZL-TARGET-0 "
        "-drive if=none,id=disk1,file=/w/disk-1.qcow2,format=qcow2,discard=unmap "
        "-device virtio-blk-pci,drive=disk1,serial=AZL-TARGET-1 "
        "-drive if=none,id=profile,file=/w/profile.img,format=raw,readonly=on "
        "-device virtio-blk-pci,drive=profile,serial=AZL-PROFILE "
        "-drive if=none,id=cd,file=/b/azl.iso,format=raw,media=cdrom,readonly=on -device ide-cd,drive=cd "
        "-kernel /w/vmlinuz -initrd /w/initrd.img "
        "-append 'boot=live console=tty1 console=ttyS0,115200n8 inst.profile=hd:LABEL=AZLPROFILE:/profile.yaml' "
        "-netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0 "
        "-chardev file,id=ser0,path=/w/serial.log,append=off -serial chardev:ser0"
    )


def test_secure_boot_needs_uefi_and_a_q35_machine() -> None:
    with pytest.raises(ValueError, match="UEFI feature"):
        qemu.firmware_args("bios", None, secure_boot=True)
    with pytest.raises(ValueError, match="q35"):
        qemu.base_args(qemu.Machine(vars_file=Path("/w/v.fd"), machine_type="pc", secure_boot=True))
    argv = qemu.base_args(qemu.Machine(vars_file=Path("/w/v.fd"), secure_boot=True))
    assert argv[1:3] == ["-machine", "q35,smm=on"]
    assert f"readonly=on,file={qemu.OVMF_CODE_SECBOOT}" in shlex.join(argv)
    assert qemu.vars_template(True) == qemu.OVMF_VARS_MS and qemu.vars_template(False) == qemu.OVMF_VARS


def test_installed_disk_boots_alone_through_the_firmware() -> None:
    uefi = qemu.installed_argv(qemu.Machine(vars_file=Path("/w/vars.fd")), disks=[Path("/w/disk-0.qcow2")],
                             console=qemu.Console(Path("/w/serial.log"), terminal=True, append=True))
    assert shlex.join(uefi) == (
        f"{TCG_BASE} "
        f"-drive if=pflash,format=raw,unit=0,readonly=on,file={CODE} "
        "-drive if=pflash,format=raw,unit=1,file=/w/vars.fd "
        "-drive if=none,id=disk0,file=/w/disk-0.qcow2,format=qcow2,discard=unmap "
        "-device virtio-blk-pci,drive=disk0,serial=AZL-TARGET-0,bootindex=0 "
        "-netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0 "
        "-chardev stdio,id=ser0,mux=on,signal=off,logfile=/w/serial.log,logappend=on -serial chardev:ser0"
    )
    bios = qemu.installed_argv(qemu.Machine(firmware="bios", kvm=True, memory_mib=2048), disks=[Path("/d.qcow2")],
                             console=qemu.Console(Path("/l"), terminal=False))
    assert "if=pflash" not in shlex.join(bios) and "-bios" not in bios
    assert bios[:9] == ["qemu-system-x86_64", "-machine", "q35", "-accel", "kvm", "-cpu", "host", "-smp", "2"]
    assert bios[bios.index("-m") + 1] == "2048"
    assert "-kernel" not in bios and "-cdrom" not in bios and "id=cd" not in shlex.join(bios)


def test_interactive_install_boots_the_cd_through_the_firmware() -> None:
    argv = qemu.install_argv(qemu.Machine(firmware="bios"), iso=Path("/i.iso"), disks=[Path("/d0")],
                           console=qemu.Console(Path("/l"), terminal=True))
    assert "-kernel" not in argv and "-append" not in argv and "id=profile" not in shlex.join(argv)
    assert argv[argv.index("ide-cd,drive=cd,bootindex=0") - 1] == "-device"
    assert argv[argv.index("ide-cd,drive=cd,bootindex=0") - 4] == "virtio-blk-pci,drive=disk0,serial=AZL-TARGET-0"


def test_disks_get_sequential_serials_and_commas_in_paths_are_escaped() -> None:
    args = qemu.disk_args([Path(f"/w/d{i}.qcow2") for i in range(3)] + [Path("/a,b/d.qcow2")])
    devices = [args[i + 1] for i, a in enumerate(args) if a == "-device"]
    assert [d.split("serial=")[1] for d in devices] == [f"AZL-TARGET-{i}" for i in range(4)]
    assert "file=/a,,b/d.qcow2," in args[-3]
    assert qemu.target_serial(7) == "AZL-TARGET-7"


def test_uefi_needs_a_per_vm_variable_store() -> None:
    with pytest.raises(ValueError, match="variable store"):
        qemu.firmware_args("uefi", None)
    assert qemu.firmware_args("bios", None) == []


def test_network_is_user_mode_and_restricted() -> None:
    assert qemu.net_args() == ["-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-pci,netdev=n0"]


def test_console_on_terminal_keeps_a_log_and_gives_ctrl_c_to_the_guest() -> None:
    terminal = qemu.console_args(qemu.Console(Path("/l,og"), terminal=True))
    assert terminal == ["-chardev", "stdio,id=ser0,mux=on,signal=off,logfile=/l,,og,logappend=off",
                        "-serial", "chardev:ser0"]
    file_only = qemu.console_args(qemu.Console(Path("/f"), terminal=False, append=True))
    assert file_only[1] == "file,id=ser0,path=/f,append=on"


def test_a_socket_console_listens_without_waiting_and_still_logs() -> None:
    args = qemu.console_args(qemu.Console(Path("/w/serial.log"), terminal=False, append=True, socket=Path("/w/s,ock")))
    assert args == ["-chardev", "socket,id=ser0,path=/w/s,,ock,server=on,wait=off,logfile=/w/serial.log,logappend=on",
                    "-serial", "chardev:ser0"]


def test_kvm_probe_rom_puts_its_code_at_the_reset_vector() -> None:
    rom = qemu.probe_rom()
    assert len(rom) == 65536
    assert rom[0xFFF0:0xFFF5] == bytes([0xB0, 0x01, 0xE6, 0xF4, 0xF4])  # mov al,1; out 0xf4,al; hlt
    assert rom.count(0) == 65536 - 5
    argv = qemu.probe_argv(Path("/t/p.rom"), kvm=True)
    assert argv[argv.index("-accel") + 1 : argv.index("-accel") + 4] == ["kvm", "-cpu", "host"]
    assert "isa-debug-exit,iobase=0xf4,iosize=0x04" in argv and argv[argv.index("-bios") + 1] == "/t/p.rom"
    assert qemu.PROBE_EXIT == (1 << 1) | 1


def test_install_result_and_log_block_are_found_among_console_noise() -> None:
    serial = (
        "[    1.0] Linux version 6.6\r\n"
        "AZL-LOG-BEGIN\r\n"
        "12:00:01 [partition] started\r\n"
        "12:00:02 [partition] FAILED: no disk\r\n"
        "AZL-LOG-END\r\n"
        "[   30.1] installer[412]: AZL-INSTALL-RESULT rc=1\r\n"
        "[   31.0] reboot: Power down\r\n"
    )
    report = parse_install_result(serial)
    assert report == InstallReport(1, "12:00:01 [partition] started\n12:00:02 [partition] FAILED: no disk")


def test_install_result_edge_cases() -> None:
    assert parse_install_result("") == InstallReport(None, None)
    assert parse_install_result("AZL-INSTALL-RESULT rc=x\n").rc is None
    last_wins = "AZL-INSTALL-RESULT rc=4\nAZL-INSTALL-RESULT rc=0\n"
    assert parse_install_result(last_wins).rc == 0
    cut = parse_install_result("AZL-LOG-BEGIN\nstep one\nstep two")  # the guest died mid-log
    assert cut == InstallReport(None, "step one\nstep two")
    inside = parse_install_result("AZL-LOG-BEGIN\nAZL-INSTALL-RESULT rc=9\nAZL-LOG-END\n")
    assert inside.rc is None, "a result line inside the log block is log text, not the result"


def test_sizes_round_up_to_whole_mib() -> None:
    assert disks.round_up_mib(0) == 0
    assert disks.round_up_mib(1) == disks.MiB
    assert disks.round_up_mib(8 * 1024**3) == 8 * 1024**3
    assert disks.round_up_mib(8 * 1024**3 + 1) == 8 * 1024**3 + disks.MiB


def _footer(size: int, disk_type: int = 2) -> bytes:
    footer = bytearray(512)
    footer[:8] = b"conectix"
    footer[48:56] = size.to_bytes(8, "big")
    footer[60:64] = disk_type.to_bytes(4, "big")
    return bytes(footer)


def test_vhd_checks() -> None:
    size = 100 * disks.MiB
    assert disks.vhd_footer(_footer(size)) == (size, 2)
    assert disks.vhd_footer(b"\0" * 512) is None
    assert disks.vhd_problem(size, size + 512, size, _footer(size)) is None
    assert "not a whole number of MiB" in str(disks.vhd_problem(size + 1, size + 513, size + 1, _footer(size + 1)))
    assert "differs" in str(disks.vhd_problem(size, size + 512, 2 * size, _footer(size)))
    assert "not a fixed VHD" in str(disks.vhd_problem(size, size + 1024, size, _footer(size)))
    assert "type 3" in str(disks.vhd_problem(size, size + 512, size, _footer(size, 3)))
    assert "no VHD footer" in str(disks.vhd_problem(size, size + 512, size, b"x" * 512))
    assert disks.vhd_convert_argv(Path("/d.qcow2"), Path("/o.vhd")) == [
        "qemu-img", "convert", "-f", "qcow2", "-O", "vpc", "-o", "subformat=fixed,force_size", "/d.qcow2", "/o.vhd"]
    assert disks.qcow2_create_argv(Path("/d.qcow2"), 5 * disks.MiB) == [
        "qemu-img", "create", "-q", "-f", "qcow2", "/d.qcow2", "5242880"]


def test_forwards_put_the_guest_on_the_metadata_subnet_and_reach_only_loopback() -> None:
    forwards = (qemu.parse_forward("169.254.169.254:80=8080"), qemu.parse_forward(" 169.254.169.250:443=9443 "))
    assert forwards[1] == qemu.Forward("169.254.169.250", 443, 9443)
    argv = qemu.installed_argv(qemu.Machine(firmware="bios", forwards=forwards), disks=[Path("/d.qcow2")],
                             console=qemu.Console(Path("/s.log"), terminal=False))
    netdev = argv[argv.index("-netdev") + 1]
    # the guest's own address outside 169.254.0.0/16: systemd-networkd takes no link-local DHCP lease
    assert netdev == ("user,id=n0,restrict=on,net=169.0.0.0/8,host=169.0.0.2,dhcpstart=169.0.0.15,"
                      "guestfwd=tcp:169.254.169.254:80-cmd:busybox nc 127.0.0.1 8080,"
                      "guestfwd=tcp:169.254.169.250:443-cmd:busybox nc 127.0.0.1 9443")
    for bad in ("169.254.169.2:80=1", "169.254.170.1:80=1", "169.254.169.254:0=1", "x"):
        with pytest.raises(ValueError, match="expected 169.254.169.X:PORT=HOSTPORT"):
            qemu.parse_forward(bad)


def test_the_unattended_command_line_extends_the_iso_menus_own() -> None:
    assert " ".join(grubcfg.KERNEL_ARGS) + " inst.profile=hd:LABEL=AZLPROFILE:/profile.yaml" == qemu.INSTALL_APPEND


def test_direct_boot_without_disks_network_or_serial_port() -> None:
    argv = qemu.direct_argv(qemu.Machine(memory_mib=512, firmware="bios"),
                            qemu.DirectBoot(Path("/k"), Path("/i"), "console=ttyS0"))
    assert shlex.join(argv) == (TCG_BASE.replace("-m 1536", "-m 512")
                                + " -kernel /k -initrd /i -append console=ttyS0")


def test_boottest_builds_its_command_lines_with_the_shared_builder() -> None:
    cd = boottest.boot_argv(boottest.BootSpec(Path("/i.iso"), media="cdrom"), None)
    assert cd[:3] == ["qemu-system-x86_64", "-machine", "pc"] and "-netdev" not in cd and "-serial" not in cd
    assert cd[cd.index("-device") + 1] == "ide-cd,drive=cd,bootindex=0"
    sata = boottest.boot_argv(boottest.BootSpec(Path("/i.iso"), firmware="uefi", media="sata-cdrom",
                                                network=True), Path("/v.fd"))
    assert sata[2] == "q35" and "if=pflash,format=raw,unit=1,file=/v.fd" in sata
    assert sata[-4:] == qemu.net_args()
    virtio = boottest.boot_argv(boottest.BootSpec(Path("/i.iso"), media="virtio", target=Path("/t.qcow2"),
                                                  direct=qemu.DirectBoot(Path("/k"), Path("/r"), "x")), None)
    assert "virtio-blk-pci,drive=cd" in virtio, "no bootindex next to a directly booted kernel"
    assert "virtio-blk-pci,drive=disk0,serial=AZL-TARGET-0" in virtio and virtio[-6:] == [
        "-kernel", "/k", "-initrd", "/r", "-append", "x"]
    installed = boottest.boot_argv(boottest.BootSpec(None, target=Path("/t.qcow2")), None)
    assert "virtio-blk-pci,drive=disk0,serial=AZL-TARGET-0,bootindex=0" in installed and "id=cd" not in str(installed)


def test_the_kernel_probe_boots_the_kernel_alone_until_it_panics() -> None:
    argv = qemu.kernel_probe_argv(Path("/w/vmlinuz"), kvm=True)
    assert shlex.join(argv) == (
        "qemu-system-x86_64 -machine q35 -accel kvm -cpu host -smp 1 -m 256 -no-reboot -nodefaults -display none "
        "-vga none -monitor none -kernel /w/vmlinuz -append 'console=ttyS0 panic=-1 loglevel=1'")
