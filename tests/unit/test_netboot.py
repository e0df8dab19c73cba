"""Network boot: the files `make netboot` writes from an ISO, the iPXE script `serve` fills in per client,
the QEMU command line of a network-booted guest, `vm --netboot`, and the launcher's check of the fetched
live root."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import pytest

from installer.core.events import EventBus
from installer.core.runner import RecordingRunner
from iso import launcher, netboot
from iso.serve import serving
from iso.vm import cli as vm_cli
from iso.vm import qemu
from iso.vm.process import BootOutcome
from iso.vm.session import VmOptions, VmSession, VmUsageError

needs_xorriso = pytest.mark.skipif(shutil.which("xorriso") is None, reason="xorriso is not installed")


def fake_iso(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    for name, data in (("live/vmlinuz", b"kernel"), ("live/initrd.img", b"initrd"),
                       ("live/filesystem.squashfs", b"root" * 1000), ("azl-repo/repodata/repomd.xml", b"<repomd/>"),
                       ("boot/grub/grub.cfg", b"menu")):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    iso = tmp_path / "x.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-o", str(iso), str(tree)], check=True,
                   capture_output=True)
    return iso


@needs_xorriso
def test_netboot_directory_from_an_iso(tmp_path: Path) -> None:
    out = tmp_path / "nb"
    script = netboot.make_netboot(fake_iso(tmp_path), out, append=["inst.profile=@SERVER@/fleet/"])
    text = script.read_text()
    digest = hashlib.sha256(b"root" * 1000).hexdigest()
    assert text.splitlines()[0] == "#!ipxe" and text.rstrip().endswith("boot")
    assert (f"kernel @SERVER@/live/vmlinuz initrd=initrd.img boot=live fetch=@SERVER@/live/filesystem.squashfs "
            f"inst.live_sha256={digest} console=tty1 console=ttyS0,115200n8 inst.profile=@SERVER@/fleet/") in text
    assert "initrd --name initrd.img @SERVER@/live/initrd.img" in text
    assert (out / "azl-repo/repodata/repomd.xml").read_bytes() == b"<repomd/>"
    lines = (out / "SHA256SUMS").read_text().splitlines()
    sums = {name: value for value, name in (line.split("  ") for line in lines)}
    assert sums["live/filesystem.squashfs"] == digest and set(sums) >= {"boot.ipxe", "live/vmlinuz"}
    with_url = netboot.make_netboot(fake_iso(tmp_path), out, url="http://10.0.0.5:8080/azl/",
                                    append=["inst.ks=@SERVER@/ks/"])
    assert "@SERVER@" not in with_url.read_text()
    assert "fetch=http://10.0.0.5:8080/azl/live/filesystem.squashfs" in with_url.read_text()
    assert "inst.ks=http://10.0.0.5:8080/azl/ks/" in with_url.read_text()


@needs_xorriso
def test_netboot_refuses_what_it_cannot_use(tmp_path: Path) -> None:
    with pytest.raises(netboot.NetbootError, match="no such ISO"):
        netboot.make_netboot(tmp_path / "none.iso", tmp_path / "nb")
    with pytest.raises(netboot.NetbootError, match="expected http://HOST"):
        netboot.make_netboot(tmp_path / "none.iso", tmp_path / "nb", url="ftp://x/")
    other = tmp_path / "other"
    other.mkdir()
    (other / "README").write_text("no live system here")
    iso = tmp_path / "other.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-o", str(iso), str(other)], check=True, capture_output=True)
    with pytest.raises(netboot.NetbootError, match="is it the Debian-built installer ISO"):
        netboot.make_netboot(iso, tmp_path / "nb")
    assert netboot.main(["--iso", str(tmp_path / "none.iso"), "--out", str(tmp_path / "nb")]) == 2
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    with pytest.raises(netboot.NetbootError, match="not empty and holds no boot.ipxe"):
        netboot.make_netboot(fake_iso(tmp_path), precious)
    assert (precious / "notes.txt").read_text() == "mine"


def test_serve_fills_in_each_clients_own_address(tmp_path: Path) -> None:
    (tmp_path / "boot.ipxe").write_text("#!ipxe\nkernel @SERVER@/live/vmlinuz fetch=@SERVER@/x\n")

    def fetch(url: str, host: str | None) -> str:
        request = urllib.request.Request(url, headers={"Host": host} if host else {})
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(response.read().decode())

    with serving(tmp_path) as server:
        url = f"{server.url}boot.ipxe"
        assert fetch(url, qemu.NETBOOT_IP) == (f"#!ipxe\nkernel http://{qemu.NETBOOT_IP}/live/vmlinuz "
                                               f"fetch=http://{qemu.NETBOOT_IP}/x\n")
        assert "http://10.0.0.5:8080/live" in fetch(url, "10.0.0.5:8080")
        own = server.url.rstrip("/")
        assert f"{own}/live/vmlinuz" in fetch(url, "evil host/x")  # no host: its own address instead


def test_a_network_booted_guest_boots_its_nic_from_the_forwarded_server() -> None:
    machine = qemu.Machine(firmware="bios", uuid="8c1f0e7a-2b4d-4e5f-9a6b-7c8d9e0f1a2b", serial="AZ-1",
                           mac="52:54:00:00:00:01")
    console = qemu.Console(Path("/w/serial.log"), terminal=False)
    argv = qemu.netboot_argv(machine, disks=[Path("/w/disk-0.qcow2")], console=console, server_port=41234)
    text = " ".join(argv)
    assert "-uuid 8c1f0e7a-2b4d-4e5f-9a6b-7c8d9e0f1a2b -smbios type=1,serial=AZ-1" in text
    netdev = argv[argv.index("-netdev") + 1]
    assert netdev.startswith("user,id=n0,restrict=on,net=169.0.0.0/8")
    assert f"guestfwd=tcp:{qemu.NETBOOT_IP}:80-cmd:busybox nc 127.0.0.1 41234" in netdev
    assert netdev.endswith(f",bootfile=http://{qemu.NETBOOT_IP}/boot.ipxe")
    assert argv[argv.index("-netdev") + 3] == "virtio-net-pci,netdev=n0,mac=52:54:00:00:00:01,bootindex=0"
    assert "-cdrom" not in argv and not any("ide-cd" in a for a in argv) and "-kernel" not in argv
    with pytest.raises(ValueError, match="BIOS"):
        qemu.netboot_argv(qemu.Machine(), disks=[], console=console, server_port=1)
    installed = qemu.installed_argv(machine, disks=[Path("/w/disk-0.qcow2")], console=console)
    assert "virtio-net-pci,netdev=n0,mac=52:54:00:00:00:01" in installed and "-uuid" in installed


def _options(argv: Sequence[str]) -> VmOptions:
    return vm_cli.options_from_args(vm_cli.build_parser().parse_args(list(argv)))


def test_vm_netboot_options(tmp_path: Path) -> None:
    (tmp_path / "nb").mkdir()
    with pytest.raises(VmUsageError, match="no boot.ipxe there"):
        _options(["--netboot", str(tmp_path / "nb"), "--firmware", "bios"])
    (tmp_path / "nb/boot.ipxe").write_text("#!ipxe\n")
    assert _options(["--netboot", str(tmp_path / "nb"), "--firmware", "bios"]).netboot == tmp_path / "nb"
    assert _options(["--netboot", "8080", "--firmware", "bios"]).netboot_port == 8080
    for bad, message in ((["--netboot", "8080"], "give --firmware bios"),
                         (["--netboot", "8080", "--firmware", "bios", "--iso", "x.iso"], "do not apply"),
                         (["--netboot", "70000", "--firmware", "bios"], "a port is 1-65535"),
                         (["--uuid", "1234"], "--uuid 1234: expected"), (["--mac", "53:54:00:00:00:01"], "multicast"),
                         (["--serial", "a b"], "--serial a b: expected")):
        with pytest.raises(VmUsageError, match=message):
            _options([*bad, "--profile", "p.yaml"] if "--netboot" not in bad else bad)


def test_vm_netboot_serves_the_directory_and_reads_the_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("iso.vm.session.shutil.which", lambda tool: f"/usr/bin/{tool}")
    nb = tmp_path / "nb"
    (nb / "live").mkdir(parents=True)
    (nb / "live/vmlinuz").write_bytes(b"kernel")
    (nb / "boot.ipxe").write_text("#!ipxe\nkernel @SERVER@/live/vmlinuz inst.profile=@SERVER@/fleet/\n")
    seen: list[str] = []

    def guest(argv: Sequence[str], *, terminal: bool, timeout: float | None,
              events: EventBus | None = None) -> BootOutcome:
        netdev = argv[list(argv).index("-netdev") + 1]
        port = int(netdev.split("nc 127.0.0.1 ")[1].split(",")[0])
        request = urllib.request.Request(f"http://127.0.0.1:{port}/boot.ipxe", headers={"Host": qemu.NETBOOT_IP})
        with urllib.request.urlopen(request, timeout=10) as response:  # what iPXE would fetch
            seen.append(response.read().decode())
        log = next(a.split("path=")[1].split(",")[0] for a in argv if a.startswith("file,id=ser0"))
        Path(log).write_text("AZL-INSTALL-RESULT rc=0\n")
        return BootOutcome(0, False, 3.0)

    options = _options(["--netboot", str(nb), "--firmware", "bios", "--workdir", str(tmp_path / "w"), "--console",
                        str(tmp_path / "w/serial.log"), "--no-boot"])
    probed: list[Path | None] = []

    def probe(timeout: float = 5.0, *, log: object = None, kernel: Path | None = None) -> bool:
        probed.append(kernel)
        return False

    session = VmSession(options, EventBus(), RecordingRunner(), boot=guest, probe=probe)
    assert session.run() == 0
    assert seen == [f"#!ipxe\nkernel http://{qemu.NETBOOT_IP}/live/vmlinuz inst.profile=http://{qemu.NETBOOT_IP}/fleet/\n"]
    assert probed == [nb / "live/vmlinuz"]  # the accelerator probed with the kernel the guest will run


def test_launcher_checks_the_fetched_live_root(tmp_path: Path) -> None:
    root = tmp_path / "filesystem.squashfs"
    root.write_bytes(b"live root")
    good = hashlib.sha256(b"live root").hexdigest()
    assert launcher.parse_cmdline(f"boot=live inst.live_sha256={good.upper()}").live_sha256 == good
    with pytest.raises(launcher.CmdlineError, match="expected the 64 hex digits"):
        launcher.parse_cmdline("inst.live_sha256=abc")
    assert launcher.live_root_problem(good, root) is None
    problem = launcher.live_root_problem("0" * 64, root)
    assert problem is not None and problem.startswith(f"the live root {root} is damaged: its SHA-256 is {good}")
    missing = launcher.live_root_problem(good, tmp_path / "none")
    assert missing is not None and missing.startswith("cannot check the live root")
