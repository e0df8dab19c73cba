"""What an earlier install left active on a target disk: taken down top down, or refused with one line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from installer.core.runner import RecordingRunner, Reply
from installer.plan import make_plan
from profiles import profile_from_text
from storage.inventory import DiskInfo, Inventory
from storage.release import LSBLK, ReleaseRefused, plan_release, read_tree, release_disks


def node(path: str, type_: str, *children: dict[str, Any], mounts: tuple[str | None, ...] = (None,)) -> dict[str, Any]:
    data: dict[str, Any] = {"path": path, "name": path.rsplit("/", 1)[-1], "type": type_, "mountpoints": list(mounts)}
    if children:
        data["children"] = list(children)
    return data


def tree(*disks: dict[str, Any]) -> str:
    return json.dumps({"blockdevices": list(disks)})


# What the live system finds on two disks an earlier install used: /boot's array assembled by udev,
# the encrypted group opened and active, and a mount a killed install left behind.
BOOT = node("/dev/md127", "raid1", mounts=("/run/azl-installer/target-99/boot",))
ROOT = node("/dev/mapper/sys-root", "lvm", mounts=("/run/azl-installer/target-99",))
LEFT_OVER = tree(
    node("/dev/vda", "disk", node("/dev/vda1", "part"), node("/dev/vda2", "part", BOOT),
         node("/dev/vda3", "part", node("/dev/mapper/luks-1", "crypt", ROOT))),
    node("/dev/vdb", "disk", node("/dev/vdb2", "part", BOOT)),
    node("/dev/sr0", "rom", mounts=("/run/live/medium",)),
)


def test_everything_on_the_targets_is_taken_down_top_down() -> None:
    release = plan_release(read_tree(LEFT_OVER), ["/dev/vda", "/dev/vdb"])
    assert release.refusals == []
    # This installer's own leftover mounts first, deepest first, each with what a killed install bound under it.
    assert [argv for _, argv in release.actions] == [
        ["umount", "--recursive", "/run/azl-installer/target-99/boot"],
        ["umount", "--recursive", "/run/azl-installer/target-99"], ["mdadm", "--stop", "/dev/md127"],
        ["lvchange", "--activate", "n", "/dev/mapper/sys-root"], ["cryptsetup", "close", "luks-1"]]


def test_a_thin_pool_goes_with_its_volumes_and_its_hidden_parts_are_left_to_lvm() -> None:
    """lsblk shows a thin pool's data, metadata and -tpool layer as lvm devices too; lvchange refuses those
    names, and deactivating the pool takes them down."""
    tpool = node("/dev/mapper/sys-pool00-tpool", "lvm", node("/dev/mapper/sys-root", "lvm", mounts=("/mnt",)),
                 node("/dev/mapper/sys-pool00", "lvm"))
    thin = tree(node("/dev/vda", "disk", node("/dev/vda2", "part", node("/dev/mapper/sys-pool00_tmeta", "lvm", tpool),
                                               node("/dev/mapper/sys-pool00_tdata", "lvm", tpool))))
    release = plan_release(read_tree(thin.replace('"/mnt"', "null")), ["/dev/vda"])
    assert [argv for _, argv in release.actions] == [
        ["lvchange", "--activate", "n", "/dev/mapper/sys-root"],
        ["lvchange", "--activate", "n", "/dev/mapper/sys-pool00"]]
    assert release.refusals == []


def test_an_array_that_also_uses_another_disk_is_refused() -> None:
    release = plan_release(read_tree(LEFT_OVER), ["/dev/vda"])
    assert release.refusals == ["/dev/md127 (raid1) also uses /dev/vdb, which is not a target disk: erasing would "
                                "break it (stop it first, or add that disk)"]


def test_a_disk_in_use_is_refused_and_nothing_is_done() -> None:
    in_use = tree(node("/dev/sda", "disk", node("/dev/sda1", "part", mounts=("/",)),
                       node("/dev/sda2", "part", mounts=("[SWAP]",))))
    release = plan_release(read_tree(in_use), ["/dev/sda"])
    assert release.refusals == ["/dev/sda1 is mounted at /: unmount it first (the installer never erases a disk "
                                "in use)"]
    assert release.actions == [("swapoff /dev/sda2", ["swapoff", "/dev/sda2"])]
    runner = RecordingRunner()
    runner.reply(LSBLK, Reply(output=in_use))
    with pytest.raises(ReleaseRefused, match="mounted at /"):
        release_disks(runner, ["/dev/sda"])
    assert runner.calls == [tuple(LSBLK)]  # nothing was taken down


def test_the_plan_shows_the_release_and_refuses_a_disk_in_use() -> None:
    profile = profile_from_text("storage: {disks: [{path: /dev/vda}, {path: /dev/vdb}], partitions: [{size: 1MiB, "
                                "filesystem: biosboot}, {size: 2GiB, mount: /, filesystem: ext4}]}\n"
                                "payload: {packages: [a], repositories: [{name: r, baseurl: 'file:///r'}]}\n")
    disks = (DiskInfo("/dev/vda", 8 * 2**30), DiskInfo("/dev/vdb", 8 * 2**30))
    plan = make_plan(profile, Inventory(disks, LEFT_OVER))
    assert "! stop the array /dev/md127, on a target disk" in plan.render()
    assert not plan.blockers
    only_a = profile_from_text("storage: {disks: [{path: /dev/vda}], partitions: [{size: 1MiB, filesystem: "
                               "biosboot}, {size: 2GiB, mount: /, filesystem: ext4}]}\n"
                               "payload: {packages: [a], repositories: [{name: r, baseurl: 'file:///r'}]}\n")
    blocked = make_plan(only_a, Inventory(disks, LEFT_OVER))
    assert [b.message for b in blocked.blockers][:1] == [
        "/dev/md127 (raid1) also uses /dev/vdb, which is not a target disk: erasing would break it (stop it first, "
        "or add that disk)"]


def test_the_inventory_keeps_the_tree_through_json() -> None:
    inventory = Inventory((DiskInfo("/dev/vda", 2**30),), LEFT_OVER)
    assert Inventory.from_json(inventory.to_json()) == inventory
    assert Inventory.from_json(json.dumps({"disks": []})).stack == ""  # recorded machines from before
