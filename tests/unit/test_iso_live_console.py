"""The live medium's interactive path: the starting profile, the console login script, the menu entry.

The path itself (boot, autologin, the installer on ttyS0, an install, the installed system) is
proven in QEMU by tests/vm/test_ui_serial.py; these are the quick checks of its parts.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from installer import session
from installer.core.runner import CommandError, RecordingRunner, Reply
from iso import grubcfg
from profiles import ProfileError, load_profile, profile_from_text
from profiles.model import AutoLayout, DiskMatch, Payload, Profile, RootImage, Storage
from storage import apply
from storage.inventory import DiskInfo, Inventory
from storage.layout import plan_storage

ROOTFS = Path(__file__).resolve().parents[2] / "iso" / "rootfs"
LIVE_PROFILE = ROOTFS / "usr/share/azl-installer/interactive.yaml"
LOGIN_SCRIPT = ROOTFS / "etc/profile.d/azl-live.sh"


def test_the_live_starting_profile_is_valid_and_leaves_every_screen_open() -> None:
    profile = load_profile(LIVE_PROFILE)
    assert profile.interactive_sections == ("*",)
    assert profile.storage.disks == ()  # the person at the console picks the disk
    # The test distribution the medium carries, through dnf, SELinux enforcing (as Azure Linux).
    assert profile.payload.image is None
    assert [r.baseurl for r in profile.payload.repositories] == ["file:///run/live/medium/azl-repo"]
    assert "azure-vm-server" in profile.payload.groups and profile.system.selinux == "enforcing"
    assert "console=ttyS0,115200n8" in profile.bootloader.cmdline  # a login on the installed system's serial port
    assert not any(arg.startswith("rootdelay") for arg in profile.bootloader.cmdline)


def test_the_login_script_starts_the_installer_from_the_live_profile() -> None:
    text = LOGIN_SCRIPT.read_text()
    assert "/usr/share/azl-installer/interactive.yaml" in text
    assert "stty rows 24 cols 80" in text
    assert "dmesg --console-level emerg" in text
    assert subprocess.run(["sh", "-n", str(LOGIN_SCRIPT)], check=False).returncode == 0


DISKLESS = "version: 1\n{sections}storage:\n  disks: []\npayload:\n  image:\n    path: /x.squashfs\n"


@pytest.mark.parametrize("sections", ['interactive_sections: ["*"]\n', "interactive_sections: [storage, users]\n"])
def test_no_target_disk_is_fine_when_storage_is_interactive(sections: str) -> None:
    assert profile_from_text(DISKLESS.format(sections=sections)).storage.disks == ()


@pytest.mark.parametrize("sections", ["", "interactive_sections: [users]\n"])
def test_no_target_disk_is_refused_otherwise(sections: str) -> None:
    with pytest.raises(ProfileError, match="storage.disks: name at least one target disk"):
        profile_from_text(DISKLESS.format(sections=sections))


def test_only_the_interactive_menu_entry_is_quiet() -> None:
    interactive, *unattended = grubcfg.menu_entries(["vm-uefi", "vm-bios"])
    assert interactive.cmdline().split()[-1] == "quiet"
    assert unattended and all("quiet" not in entry.cmdline().split() for entry in unattended)


def test_planning_for_review_loads_the_filesystem_modules_first(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    """On the live ISO ext4 and vfat are modules not loaded at boot: Review once listed them as
    missing kernel features although the install (which loads them) would have worked."""
    runner = RecordingRunner()
    monkeypatch.setattr(session, "RealRunner", lambda _events: runner)
    monkeypatch.setattr(session, "probe", lambda _runner: Inventory((DiskInfo("/dev/vda", 4 * 1024**3),)))
    # /proc/filesystems lists a filesystem only once its module is loaded.
    monkeypatch.setattr(session, "_proc_filesystems", lambda: "".join(
        f"\t{argv[-1]}\n" for argv in runner.calls if argv[0] == "modprobe"))
    profile = Profile(storage=Storage(disks=(DiskMatch(path="/dev/vda"),), auto=AutoLayout(filesystem="ext4")),
                      payload=Payload(image=RootImage(str(tmp_path / "x.squashfs"))))
    (tmp_path / "x.squashfs").touch()  # a plan for this machine checks that its local paths exist
    plan = session.plan_only(profile, None, None)
    assert plan.blockers == ()
    assert ("modprobe", "--quiet", "ext4") in runner.calls and ("modprobe", "--quiet", "vfat") in runner.calls


@pytest.mark.parametrize("nodes_there", [True, False])
def test_partx_losing_the_race_to_the_kernels_own_reread_is_no_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nodes_there: bool
) -> None:
    """The live kernel parses partition tables: udev has it re-read the new table when the disk is
    closed after writing, and partx --add then fails with EBUSY although all partitions exist."""
    disk = str(tmp_path / "vda")
    target = plan_storage(Storage(disks=(DiskMatch(path=disk),), auto=AutoLayout(filesystem="ext4")),
                          Inventory((DiskInfo(disk, 4 * 1024**3),))).targets[0]
    if nodes_there:
        for part in target.partitions:
            Path(part.device(disk)).touch()
    monkeypatch.setattr(apply, "_wait_for", lambda _path: None)
    runner = RecordingRunner()
    runner.reply(["partx", "--add"], Reply(returncode=1, output="partx: error adding partitions 1-3"))
    if nodes_there:
        apply._refresh_partition_nodes(target, runner)
    else:
        with pytest.raises(CommandError, match="partx --add"):
            apply._refresh_partition_nodes(target, runner)
