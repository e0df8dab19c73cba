"""The `azl-installer vm` flow with recorded commands and a fake QEMU: options, steps, results, exit codes."""

from __future__ import annotations

import io
import json
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from installer.cli import main
from installer.core.events import Event, EventBus
from installer.core.runner import RecordingRunner, Reply
from iso import grubcfg
from iso.vm import cli as vm_cli
from iso.vm import disks, qemu
from iso.vm.process import BootOutcome
from iso.vm.session import VmOptions, VmSession, VmUsageError

PROFILE = """storage:
  disks: [{path: /dev/disk/by-id/virtio-AZL-TARGET-0}]
payload:
  repositories: [{name: iso, baseurl: "file:///run/live/medium/repo"}]
  packages: [bash]
"""


@dataclass
class FakeQemu:
    """Stands in for run_qemu: records argv and writes what the guest would print on the serial port."""

    serial: list[str]
    timeouts: list[bool] = field(default_factory=list)
    calls: list[list[str]] = field(default_factory=list)

    def __call__(self, argv: Sequence[str], *, terminal: bool, timeout: float | None,
                 events: EventBus | None = None) -> BootOutcome:
        self.calls.append(list(argv))
        spec = next(argv[i + 1] for i, arg in enumerate(argv) if arg == "-chardev" and "id=ser0" in argv[i + 1])
        log = Path(spec.split("path=")[1].split(",")[0] if "path=" in spec else spec.split("logfile=")[1].split(",")[0])
        with log.open("a" if "append=on" in spec or "logappend=on" in spec else "w") as handle:
            handle.write(self.serial[len(self.calls) - 1])
        timed_out = self.timeouts[len(self.calls) - 1] if len(self.timeouts) >= len(self.calls) else False
        return BootOutcome(None if timed_out else 0, timed_out, 12.0)


PROBED: list[Path | None] = []


def no_kvm(timeout: float = 5.0, *, log: Callable[[str], None] | None = None, kernel: Path | None = None) -> bool:
    PROBED.append(kernel)
    return False


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every tool 'installed' and OVMF files in tmp_path, so the tests need no QEMU."""
    monkeypatch.setattr("iso.vm.session.shutil.which", lambda tool: f"/usr/bin/{tool}")
    code, varstore = tmp_path / "OVMF_CODE_4M.fd", tmp_path / "OVMF_VARS_4M.fd"
    code.write_bytes(b"code")
    varstore.write_bytes(b"vars")
    monkeypatch.setattr(qemu, "OVMF_CODE", code)
    monkeypatch.setattr(qemu, "OVMF_VARS", varstore)
    (tmp_path / "azl.iso").write_bytes(b"iso")
    (tmp_path / "p.yaml").write_text(PROFILE)
    return tmp_path


def fake_runner(disk_size: int, menu: str | None = None) -> RecordingRunner:
    """menu: the ISO's /boot/grub/grub.cfg (None: an ISO without one, where xorriso extracts nothing)."""
    runner = RecordingRunner()

    def extract(argv: tuple[str, ...]) -> None:
        for i, arg in enumerate(argv):
            if arg == "-extract" and argv[i + 1] == "/boot/grub/grub.cfg":
                if menu is not None:
                    Path(argv[i + 2]).write_text(menu)
            elif arg == "-extract":
                Path(argv[i + 2]).write_bytes(b"kernel or initrd")

    def convert(argv: tuple[str, ...]) -> None:
        with open(argv[-1], "wb") as out:
            out.truncate(disk_size)
            out.seek(disk_size)
            footer = bytearray(512)
            footer[:8] = b"conectix"
            footer[48:56] = disk_size.to_bytes(8, "big")
            footer[60:64] = (2).to_bytes(4, "big")
            out.write(footer)

    runner.reply(["xorriso"], Reply(effect=extract))
    runner.reply(["qemu-img", "convert"], Reply(effect=convert))
    runner.reply(["qemu-img", "info"], Reply(output=json.dumps({"virtual-size": disk_size})))
    return runner


def session(host: Path, extra: list[str], runner: RecordingRunner, guest: FakeQemu,
            out: io.StringIO | None = None) -> tuple[VmSession, list[Event]]:
    args = vm_cli.build_parser().parse_args(["--workdir", str(host / "wd"), *extra])
    options = vm_cli.options_from_args(args)
    options.workdir.mkdir(parents=True, exist_ok=True)
    events: list[Event] = []
    return VmSession(options, EventBus(events.append), runner, boot=guest, probe=no_kvm,
                            console_out=out or io.StringIO()), events


@pytest.mark.parametrize("kickstart", [False, True])
def test_the_isos_own_menu_gives_the_direct_boots_kernel_arguments(host: Path, kickstart: bool) -> None:
    """An RPM-built ISO's initramfs is dracut's, which finds the live root by other arguments than
    live-boot: the unattended direct boot takes them from the ISO's menu entry."""
    base = grubcfg.dracut_live_args("AZL_INSTALLER")
    menu = grubcfg.grub_cfg(grubcfg.menu_entries(["azl-vm-uefi"], base))
    runner = fake_runner(100 * disks.MiB, menu)
    guest = FakeQemu(["AZL-INSTALL-RESULT rc=0\r\n", "login: "])
    (host / "ks.cfg").write_text(KICKSTART)
    (host / "parts-extra.ks").write_text("selinux --disabled\n")
    source = ["--kickstart", str(host / "ks.cfg")] if kickstart else ["--profile", str(host / "p.yaml")]
    vm_session, _ = session(host, ["--iso", str(host / "azl.iso"), *source, "--no-boot"], runner, guest)
    assert vm_session.run() == 0
    install = guest.calls[0]
    entry = grubcfg.KICKSTART_DISK_ID if kickstart else grubcfg.PROFILE_DISK_ID
    assert install[install.index("-append") + 1] == grubcfg.entry_cmdline(menu, entry)
    assert install[install.index("-append") + 1].startswith("root=live:CDLABEL=AZL_INSTALLER rd.live.image ")


def test_unattended_install_exports_a_vhd_then_boots_the_installed_disk(host: Path) -> None:
    runner = fake_runner(100 * disks.MiB)
    guest = FakeQemu(["noise\r\nAZL-INSTALL-RESULT rc=0\r\n", "login: "])
    extra = ["--iso", str(host / "azl.iso"), "--profile", str(host / "p.yaml"), "--disks", "2",
             "--disk-size", "99.5MiB", "--console", str(host / "console.log"), "--export-vhd", str(host / "o.vhd")]
    vm_session, events = session(host, extra, runner, guest)
    assert vm_session.run() == 0
    wd = host / "wd"
    assert runner.commands()[:6] == [
        f"xorriso -osirrox on -indev {host}/azl.iso -extract /live/vmlinuz {wd}/vmlinuz "
        f"-extract /live/initrd.img {wd}/initrd.img",
        f"xorriso -osirrox on -indev {host}/azl.iso -extract /boot/grub/grub.cfg {wd}/grub.cfg",
        f"qemu-img create -q -f qcow2 {wd}/disk-0.qcow2 104857600",  # 99.5MiB rounded up to a whole MiB
        f"qemu-img create -q -f qcow2 {wd}/disk-1.qcow2 104857600",
        f"mkfs.ext4 -q -F -L AZLPROFILE -d {wd}/profile-disk {wd}/profile.img",
        f"qemu-img info --output=json -f qcow2 {wd}/disk-0.qcow2",
    ]
    assert PROBED[-1] == wd / "vmlinuz", "the accelerator is probed with the ISO's kernel"
    # No menu on this ISO: the Debian-built ISO's own arguments.
    first = guest.calls[0]
    assert first[first.index("-append") + 1] == qemu.INSTALL_APPEND
    assert runner.commands()[6] == f"qemu-img convert -f qcow2 -O vpc -o subformat=fixed,force_size " \
                                   f"{wd}/disk-0.qcow2 {host}/o.vhd.part"
    assert (wd / "profile-disk" / "profile.yaml").read_text() == PROFILE
    assert (wd / "profile.img").stat().st_size == 4 * disks.MiB and (wd / "profile.img").stat().st_mode & 0o077 == 0
    assert (wd / "OVMF_VARS_4M.fd").read_bytes() == b"vars"
    assert (host / "o.vhd").stat().st_size == 100 * disks.MiB + 512 and not (host / "o.vhd.part").exists()
    install, boot = map(shlex.join, guest.calls)
    assert f"-kernel {wd}/vmlinuz -initrd {wd}/initrd.img" in install and "serial=AZL-TARGET-1" in install
    assert f"file,id=ser0,path={host}/console.log,append=off" in install
    # disk-1 was never made here (qemu-img is recorded): only the disks that exist are booted
    assert "AZL-TARGET-1" not in boot and "serial=AZL-TARGET-0,bootindex=0" in boot and "-kernel" not in boot
    assert "append=on" in boot and (host / "console.log").read_bytes().endswith(b"AZL-INSTALL-RESULT rc=0\r\nlogin: ")
    messages = [e.message for e in events]
    assert "accelerator: TCG (KVM is not usable here)" in messages
    assert "install finished (rc=0) in 12 s" in messages


def test_secure_boot_installs_through_the_signed_chain_with_microsofts_keys(host: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """--secure-boot: OVMF's SMM build with a store holding Microsoft's keys, for the install and the boot;
    the ISO is started by the firmware (shim, GRUB), not given to QEMU as a kernel, with the profile disk
    attached for GRUB's menu to pick."""
    secboot, ms_vars = host / "OVMF_CODE_4M.secboot.fd", host / "OVMF_VARS_4M.ms.fd"
    secboot.write_bytes(b"sb code")
    ms_vars.write_bytes(b"ms vars")
    monkeypatch.setattr(qemu, "OVMF_CODE_SECBOOT", secboot)
    monkeypatch.setattr(qemu, "OVMF_VARS_MS", ms_vars)
    guest = FakeQemu(["AZL-INSTALL-RESULT rc=0\r\n", "login: "])
    extra = ["--iso", str(host / "azl.iso"), "--profile", str(host / "p.yaml"), "--console", str(host / "c.log"),
             "--secure-boot"]
    vm_session, _ = session(host, extra, fake_runner(100 * disks.MiB), guest)
    assert vm_session.run() == 0
    wd = host / "wd"
    assert (wd / "OVMF_VARS_4M.ms.fd").read_bytes() == b"ms vars" and not (wd / "OVMF_VARS_4M.fd").exists()
    for call in guest.calls:
        argv = shlex.join(call)
        assert "-machine q35,smm=on" in argv and "-global driver=cfi.pflash01,property=secure,value=on" in argv
        assert f"readonly=on,file={secboot}" in argv and f"file={wd}/OVMF_VARS_4M.ms.fd" in argv
    install = shlex.join(guest.calls[0])
    assert "-kernel" not in install and "-append" not in install
    # OVMF connects only what the boot order names: the profile disk is in it, for GRUB to find.
    assert "serial=AZL-PROFILE,bootindex=1" in install and "ide-cd,drive=cd,bootindex=0" in install


def test_profile_files_go_beside_the_profile_and_forwards_reach_both_boots(host: Path) -> None:
    (host / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    guest = FakeQemu(["AZL-INSTALL-RESULT rc=0\r\n", "login: "])
    extra = ["--iso", str(host / "azl.iso"), "--profile", str(host / "p.yaml"), "--profile-file",
             str(host / "ca.pem"), "--forward", "169.254.169.254:80=8080", "--console", str(host / "c.log")]
    vm_session, _ = session(host, extra, fake_runner(100 * disks.MiB), guest)
    assert vm_session.run() == 0
    stage = host / "wd" / "profile-disk"
    assert sorted(p.name for p in stage.iterdir()) == ["ca.pem", "profile.yaml"]
    assert (stage / "ca.pem").read_text() == "-----BEGIN CERTIFICATE-----\n"
    for call in guest.calls:
        assert "guestfwd=tcp:169.254.169.254:80-cmd:busybox nc 127.0.0.1 8080" in shlex.join(call)


def test_tpm_gives_the_install_and_the_boots_one_swtpm_state(host: Path) -> None:
    """--tpm: a real swtpm runs beside each QEMU run (its socket is there while QEMU runs, gone after),
    serving WORKDIR/tpm; a new install starts from an empty TPM."""
    sockets: list[tuple[str, bool]] = []

    class TpmQemu(FakeQemu):
        def __call__(self, argv: Sequence[str], *, terminal: bool, timeout: float | None,
                     events: EventBus | None = None) -> BootOutcome:
            chardev = next(argv[i + 1] for i, arg in enumerate(argv)
                           if arg == "-chardev" and "id=chrtpm" in argv[i + 1])
            socket = chardev.split("path=")[1]
            sockets.append((socket, Path(socket).exists()))
            assert argv[argv.index("-tpmdev") + 1] == "emulator,id=tpm0,chardev=chrtpm"
            assert argv[argv.index("-device", argv.index("-tpmdev")) + 1] == "tpm-tis,tpmdev=tpm0"
            return super().__call__(argv, terminal=terminal, timeout=timeout, events=events)

    state = host / "wd" / "tpm"
    state.mkdir(parents=True)
    (state / "earlier-vm").write_text("an older VM's TPM")
    guest = TpmQemu(["AZL-INSTALL-RESULT rc=0\r\n", "login: "])
    extra = ["--iso", str(host / "azl.iso"), "--profile", str(host / "p.yaml"), "--console", str(host / "c.log"),
             "--tpm"]
    vm_session, events = session(host, extra, fake_runner(100 * disks.MiB), guest)
    assert vm_session.run() == 0
    assert len(sockets) == 2 and all(running for _, running in sockets)
    assert not any(Path(socket).exists() for socket, _ in sockets)  # swtpm stopped, its directory removed
    assert state.is_dir() and not (state / "earlier-vm").exists()
    assert any(f"TPM 2.0 state: {state}" in e.message for e in events)


def test_failed_install_shows_the_guest_log_and_exits_1(host: Path) -> None:
    serial = "AZL-LOG-BEGIN\r\n[partition] FAILED: disk too small\r\nAZL-LOG-END\r\nAZL-INSTALL-RESULT rc=3\r\n"
    guest = FakeQemu([serial])
    out = io.StringIO()
    vm_session, events = session(host, ["--iso", str(host / "azl.iso"), "--profile", str(host / "p.yaml"),
                                        "--console", str(host / "c.log"), "--export-vhd", str(host / "o.vhd")],
                                 fake_runner(8 * 1024**3), guest, out)
    assert vm_session.run() == 1
    assert len(guest.calls) == 1, "no boot of the installed disk after a failed install"
    assert out.getvalue() == "install log from the guest:\n[partition] FAILED: disk too small\n"
    assert any("failed with rc=3" in e.message and e.level == "error" for e in events)
    assert not (host / "o.vhd").exists()


def test_timeout_or_missing_result_fails_with_the_serial_tail(host: Path) -> None:
    for guest, expected in ((FakeQemu(["kernel panic\n"], timeouts=[True]), "did not finish within 30 s"),
                           (FakeQemu(["kernel panic\n"]), "reported no result (QEMU exit status 0")):
        out = io.StringIO()
        vm_session, events = session(host, ["--iso", str(host / "azl.iso"), "--profile", str(host / "p.yaml"),
                                            "--console", str(host / "c.log"), "--timeout", "30"],
                                     fake_runner(8 * 1024**3), guest, out)
        assert vm_session.run() == 1
        assert "last lines of the serial console:\nkernel panic" in out.getvalue()
        assert any(expected in e.message for e in events), [e.message for e in events]


def test_interactive_install_boots_the_iso_from_the_cd(host: Path) -> None:
    runner = fake_runner(8 * 1024**3)
    guest = FakeQemu(["AZL-INSTALL-RESULT rc=0\n", ""])
    vm_session, _ = session(host, ["--iso", str(host / "azl.iso"), "--firmware", "bios", "--no-boot"], runner, guest)
    assert vm_session.run() == 0
    assert len(guest.calls) == 1
    install = shlex.join(guest.calls[0])
    assert "ide-cd,drive=cd,bootindex=0" in install and "-kernel" not in install and "pflash" not in install
    assert f"stdio,id=ser0,mux=on,signal=off,logfile={host}/wd/serial.log,logappend=off" in install
    assert not any(c.startswith("mkfs") for c in runner.commands())
    assert PROBED[-1] == host / "wd" / "vmlinuz", "the kernel is copied out for the accelerator probe only"


def test_interactive_install_has_no_result_line_and_the_installed_disk_boots_next(host: Path) -> None:
    guest = FakeQemu(["Azure Linux 4.0 installer  done\n", "serial-ui-01 login:\n"])
    vm_session, events = session(host, ["--iso", str(host / "azl.iso")], fake_runner(8 * 1024**3), guest)
    assert vm_session.run() == 0
    assert len(guest.calls) == 2 and "bootindex=0" in guest.calls[1][guest.calls[1].index("-device") + 1]
    assert any("installer VM stopped after 12 s" in e.message for e in events), [e.message for e in events]


def test_no_install_boots_the_existing_disk(host: Path) -> None:
    guest = FakeQemu(["booted\n", "booted again\n"])
    (host / "wd").mkdir()
    (host / "wd" / "disk-0.qcow2").write_bytes(b"qcow2")
    runner = fake_runner(8 * 1024**3)
    vm_session, _ = session(host, ["--no-install", "--cpus", "1", "--console", str(host / "c.log")], runner, guest)
    assert vm_session.run() == 0
    assert runner.calls == []
    assert "append=off" in shlex.join(guest.calls[0]) and (host / "wd" / "OVMF_VARS_4M.fd").exists()
    assert " -smp 1 " in shlex.join(guest.calls[0])
    assert PROBED[-1] is None, "no kernel kept from an install: the ROM probe alone"
    (host / "wd" / "vmlinuz").write_bytes(b"kernel")
    vm_session.run()
    assert PROBED[-1] == host / "wd" / "vmlinuz"


def test_iso_is_built_into_the_workdir_when_not_given(host: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = fake_runner(8 * 1024**3)
    guest = FakeQemu(["AZL-INSTALL-RESULT rc=0\n"])
    vm_session, events = session(host, ["--no-boot"], runner, guest)
    monkeypatch.setattr("iso.vm.session.os.geteuid", lambda: 1000)
    with pytest.raises(VmUsageError, match="building the ISO needs root"):
        vm_session.run()
    monkeypatch.setattr("iso.vm.session.os.geteuid", lambda: 0)
    wd = host / "wd"

    def build_iso(_: tuple[str, ...]) -> None:
        (wd / "azl-installer.iso").write_text("")

    runner.reply([sys.executable, "-m", "iso.build"], Reply(effect=build_iso))
    assert vm_session.run() == 0
    build = next(c for c in runner.calls if c[1:3] == ("-m", "iso.build"))
    # The packaged builder, run by this python, writes into the work directory: no checkout is involved.
    assert build == (sys.executable, "-m", "iso.build", "--out", f"{wd}/azl-installer.iso", "--work-dir",
                     f"{wd}/iso-work")
    assert any(e.message == f"building the installer ISO: {wd}/azl-installer.iso (the first build takes minutes; "
               "the live root is cached)" for e in events)
    assert f"file={wd}/azl-installer.iso,format=raw,media=cdrom" in shlex.join(guest.calls[0])


@pytest.mark.parametrize(("argv", "message"), [
    (["--disk-size", "lots"], "--disk-size: 'lots' is not a size"),
    (["--disk-size", "1MiB"], "at least 64MiB"),
    (["--disks", "0"], "--disks: between 1 and 16"),
    (["--memory", "64"], "--memory: at least 256"),
    (["--cpus", "0"], "--cpus: between 1 and 64"),
    (["--secure-boot", "--firmware", "bios"], "--secure-boot needs --firmware uefi"),
    (["--timeout", "0"], "--timeout"),
    (["--no-install", "--iso", "x.iso"], "--iso, --profile and --kickstart do not apply"),
    (["--console", "log.txt"], "interactive installer (no --profile) needs --console terminal"),
    (["--no-install", "--no-boot"], "leaves nothing to do"),
    (["--forward", "10.0.2.2:80=8080"], "--forward '10.0.2.2:80=8080': expected 169.254.169.X:PORT=HOSTPORT"),
    (["--forward", "169.254.169.254:80=99999"], "expected 169.254.169.X:PORT=HOSTPORT"),
    (["--profile-file", "/nonexistent/ca.pem"], "--profile-file: no such file: /nonexistent/ca.pem"),
])
def test_bad_options_exit_2_with_one_line(argv: list[str], message: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vm", "--workdir", str(tmp_path / "wd"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_invalid_profile_is_reported_before_anything_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("storage:\n  disks: [{path: /dev/vda}]\n  layout: auto\n")
    assert main(["vm", "--profile", str(bad), "--iso", str(tmp_path / "none.iso"),
                 "--workdir", str(tmp_path / "wd")]) == 2
    assert f"{bad}:3:3: storage.layout: unknown key 'layout'" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path / "wd")) == ["vm.log"]


def test_defaults_match_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    options = vm_cli.options_from_args(vm_cli.build_parser().parse_args([]))
    assert options == VmOptions(workdir=Path("azl-vm").absolute())
    assert options.disk_size == 8 * 1024**3 and options.memory_mib == 1536 and options.cpus == 2
    assert options.firmware == "uefi"
    assert options.console_file is None and options.timeout is None
    assert options.serial_log == Path.cwd() / "azl-vm/serial.log"
    # `azl-installer vm --help` is the harness's own parser, reached through the engine's CLI.
    with pytest.raises(SystemExit) as done:
        main(["vm", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert text.startswith("usage: azl-installer vm [-h] [--iso ISO]")
    for fragment in ("default 1)", "default 8GiB", "default uefi", "default 1536", "default 2)", "default ./azl-vm",
                     "default terminal", "no limit", "WORKDIR/azl-installer.iso"):
        assert fragment in text, fragment
    for option in ("--iso", "--profile", "--firmware", "--disks", "--disk-size", "--memory", "--cpus",
                   "--console", "--workdir", "--export-vhd", "--no-install", "--no-boot", "--timeout", "--profile-file",
                   "--forward"):
        assert f" {option} " in text, option


def test_the_engine_cli_hands_everything_after_vm_to_the_harness(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[list[str], bool]] = []

    def fake_main(argv: list[str], *, debug: bool = False) -> int:
        seen.append((argv, debug))
        return 0

    monkeypatch.setattr(vm_cli, "main", fake_main)
    # --profile is also an option of the interactive installer: after `vm` it belongs to vm.
    argv = ["--profile", "p.yaml", "--iso=x.iso", "--timeout", "-5", "--no-boot"]
    assert main(["--debug", "vm", *argv]) == 0
    assert seen == [(argv, True)]


def test_the_top_level_help_lists_vm(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "vm                for testers: install from the ISO into QEMU disks" in capsys.readouterr().out


def test_other_commands_still_refuse_unknown_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["schema", "--iso", "x.iso"])
    assert done.value.code == 2 and "unrecognized arguments: --iso x.iso" in capsys.readouterr().err


KICKSTART = """\
zerombr
clearpart --all --initlabel
ignoredisk --only-use=disk/by-id/virtio-AZL-TARGET-0
autopart --type=plain --noswap --nohome
url --url=file:///run/live/medium/repo
%include parts-extra.ks
%packages --nocore
vim-minimal
%end
"""


def test_a_kickstart_goes_on_the_profile_disk_and_is_booted_with_inst_ks(host: Path) -> None:
    (host / "ks.cfg").write_text(KICKSTART)
    (host / "parts-extra.ks").write_text("selinux --disabled\n")
    runner = fake_runner(100 * disks.MiB)
    guest = FakeQemu(["AZL-INSTALL-RESULT rc=0\r\n"])
    extra = ["--iso", str(host / "azl.iso"), "--kickstart", str(host / "ks.cfg"), "--profile-file",
             str(host / "parts-extra.ks"), "--console", str(host / "console.log"), "--no-boot"]
    vm_session, _ = session(host, extra, runner, guest)
    assert vm_session.run() == 0
    stage = host / "wd" / "profile-disk"
    assert sorted(p.name for p in stage.iterdir()) == ["ks.cfg", "parts-extra.ks"]
    assert (stage / "ks.cfg").read_text() == KICKSTART
    [install] = map(shlex.join, guest.calls)
    assert "inst.ks=hd:LABEL=AZLPROFILE:/ks.cfg" in install and "inst.profile" not in install


def test_a_kickstart_that_does_not_convert_stops_before_any_vm(host: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (host / "bad.cfg").write_text("vnc\n")
    assert main(["vm", "--workdir", str(host / "wd"), "--iso", str(host / "azl.iso"), "--kickstart",
                 str(host / "bad.cfg"), "--console", str(host / "c.log")]) == 2
    assert f"{host / 'bad.cfg'}:1: unsupported kickstart command 'vnc'" in capsys.readouterr().err
    assert main(["vm", "--profile", "p.yaml", "--kickstart", "ks.cfg"]) == 2
    assert "give --profile or --kickstart, not both" in capsys.readouterr().err


def test_the_installed_system_boots_with_all_its_disks(host: Path) -> None:
    runner = fake_runner(100 * disks.MiB)
    runner.reply(["qemu-img", "create"], Reply(effect=lambda argv: Path(argv[-2]).touch()))
    guest = FakeQemu(["AZL-INSTALL-RESULT rc=0\r\n", "login: "])
    extra = ["--iso", str(host / "azl.iso"), "--profile", str(host / "p.yaml"), "--disks", "2",
             "--console", str(host / "console.log")]
    vm_session, _ = session(host, extra, runner, guest)
    assert vm_session.run() == 0
    boot = shlex.join(guest.calls[1])
    assert "serial=AZL-TARGET-0,bootindex=0" in boot and "serial=AZL-TARGET-1" in boot  # a RAID or VG may span them
