"""The engine end to end with a recording runner: order of commands, events, cleanup."""

from __future__ import annotations

from pathlib import Path

import pytest

from installer.core.events import Event
from installer.core.runner import RecordingRunner, Reply
from installer.engine import Engine, InstallFailed
from tests.support.engine import ONE_DISK, recorded_engine

PROFILE = ONE_DISK + """\
users: [{name: azureuser}]
bootloader: {enabled: false}
encryption: {enabled: false, passphrase: "very-secret-passphrase"}
scripts:
  post: [{name: motd, body: "echo hi > /etc/motd"}]
"""


def _setup(tmp_path: Path) -> tuple[Engine, RecordingRunner, list[Event], Path]:
    engine, runner, seen, root, _ = recorded_engine(tmp_path, PROFILE)
    return engine, runner, seen, root


def test_the_old_partitions_lose_their_signatures_before_the_disk_is_repartitioned(tmp_path: Path) -> None:
    """A reinstall of the same layout puts new partitions where the old ones started: their md superblocks
    and LVM labels would come back and be assembled by udev under the installer, so they are erased first."""
    engine, runner, _, _, disk = recorded_engine(tmp_path, PROFILE)
    runner.reply(["lsblk", "--list"], Reply(output=f"{disk} disk\n{disk}1 part\n{disk}2 part\n/dev/md127 raid1\n"))
    engine.run()
    wipes = [c[-1] for c in runner.calls if c[0] == "wipefs"]
    assert wipes == [f"{disk}1", f"{disk}2", disk]
    first_partition_write = next(i for i, c in enumerate(runner.calls) if c[0] == "partx")
    assert max(i for i, c in enumerate(runner.calls) if c[0] == "wipefs") < first_partition_write


def test_install_runs_steps_in_order_and_unmounts(tmp_path: Path) -> None:
    engine, runner, seen, root = _setup(tmp_path)
    engine.run()
    commands = [c[0] for c in runner.calls]
    # What is active on the disk is checked first, then its old partitions listed (none here) before erasing.
    assert commands[:5] == ["lsblk", "lsblk", "wipefs", "partx", "partx"]
    assert commands.count("mkfs.ext4") == 2
    assert "dnf" in commands and commands.index("dnf") > commands.index("mount")
    mounts = [c[-1] for c in runner.calls if c[0] == "mount"]
    unmounts = [c[-1] for c in runner.calls if c[0] == "umount"]
    assert unmounts == list(reversed(mounts))
    assert mounts[0] == str(root) + "/" or mounts[0] == str(root)
    started = [e.step for e in seen if e.kind == "step-started"]
    assert started == ["storage", "mount", "early-config", "payload", "system", "selinux", "post-scripts",
                       "selinux-relabel", "finish"]
    assert [e.step for e in seen if e.kind == "step-finished"] == started
    assert "UUID=0a1b2c3d-0000-4000-8000-000000000001 / ext4 defaults 0 1" in (root / "etc/fstab").read_text()
    saved = (root / "var/log/azl-installer/profile.yaml").read_text()
    assert "very-secret-passphrase" not in saved and "<removed>" in saved
    assert any(c[:2] == ("chroot", str(root)) for c in runner.calls)


def test_failure_names_the_step_and_still_unmounts(tmp_path: Path) -> None:
    engine, runner, seen, _ = _setup(tmp_path)
    runner.reply(["dnf"], Reply(returncode=1, output="Error: Unable to find a match: core"))
    with pytest.raises(InstallFailed) as info:
        engine.run()
    assert info.value.step == "payload"
    failed = [e for e in seen if e.kind == "step-failed"]
    assert len(failed) == 1 and failed[0].step == "payload"
    mounts = [c[-1] for c in runner.calls if c[0] == "mount"]
    unmounts = [c[-1] for c in runner.calls if c[0] == "umount"]
    assert mounts and unmounts == list(reversed(mounts))
    assert not engine.mounts.mounted
