from __future__ import annotations

import pytest

from profiles.model import AutoLayout, DiskMatch, Partition, Storage, Subvolume
from profiles.sizes import GiB, MiB
from storage.inventory import DiskInfo, Inventory
from storage.layout import GUID_BIOS_BOOT, GUID_ESP, LayoutError, plan_storage

DISKS = Inventory((
    DiskInfo("/dev/vda", 32 * GiB, model="Virtual Disk", serial="OS1"),
    DiskInfo("/dev/vdb", 64 * GiB, model="Virtual Disk", serial="DATA1"),
    DiskInfo("/dev/nvme0n1", 1 * GiB, model="Tiny", serial="T1"),
))


def test_auto_uefi_layout_is_aligned_and_fills_the_disk() -> None:
    plan = plan_storage(Storage(disks=(DiskMatch(serial="OS1"),), auto=AutoLayout()), DISKS)
    (target,) = plan.targets
    esp, boot, root = target.partitions
    assert (esp.filesystem, esp.mount, esp.type_guid) == ("vfat", "/boot/efi", GUID_ESP)
    assert (boot.mount, root.mount, root.filesystem) == ("/boot", "/", "xfs")
    assert esp.start == MiB
    assert all(p.start % MiB == 0 and p.size % MiB == 0 for p in target.partitions)
    assert root.start + root.size == 32 * GiB - MiB  # the last MiB keeps the backup GPT
    assert [d.path for d in plan.unused] == ["/dev/vdb", "/dev/nvme0n1"]


def test_both_firmwares_get_biosboot_and_esp_and_btrfs_subvolumes() -> None:
    auto = AutoLayout(filesystem="btrfs", boot="both")
    plan = plan_storage(Storage(disks=(DiskMatch(path="/dev/vda"),), auto=auto), DISKS)
    parts = plan.targets[0].partitions
    assert [p.filesystem for p in parts] == ["biosboot", "vfat", "ext4", "btrfs"]
    assert parts[0].type_guid == GUID_BIOS_BOOT and parts[0].size == MiB
    assert [(s.name, s.mount) for s in parts[3].subvolumes] == [("root", "/"), ("home", "/home")]
    assert [m[0] for m in plan.mounts()] == ["/", "/boot", "/home", "/boot/efi"]


def test_explicit_partitions_on_two_disks_and_leave_alone() -> None:
    storage = Storage(
        disks=(DiskMatch(serial="OS1"), DiskMatch(model="Virtual Disk", min_size=40 * GiB)),
        leave_alone=(DiskMatch(serial="T1"),),
        partitions=(
            Partition(size=GiB, mount="/", filesystem="ext4", grow=True),
            Partition(size=GiB, mount="/data", disk=1, subvolumes=(Subvolume("x", "/x"),), filesystem="btrfs"),
        ),
    )
    plan = plan_storage(storage, DISKS)
    assert [t.disk.path for t in plan.targets] == ["/dev/vda", "/dev/vdb"]
    assert [d.path for d in plan.left_alone] == ["/dev/nvme0n1"] and plan.unused == ()
    assert plan.targets[1].partitions[0].device("/dev/vdb") == "/dev/vdb1"
    assert plan.targets[0].partitions[0].device("/dev/nvme0n1") == "/dev/nvme0n1p1"


@pytest.mark.parametrize(("storage", "message"), [
    (Storage(disks=(DiskMatch(serial="NOPE"),)), "storage.disks[0]: no disk matches this rule"),
    (Storage(disks=(DiskMatch(model="Virtual Disk"),)), "the rule matches 2 disks"),
    (Storage(disks=(DiskMatch(serial="T1"),), auto=AutoLayout()),
     "the layout needs 3.5 GiB but /dev/nvme0n1 has 1 GiB"),
    (Storage(disks=(DiskMatch(serial="OS1"),), leave_alone=(DiskMatch(path="/dev/vda"),)),
     "/dev/vda is both a target and left alone (also at storage.leave_alone[0])"),
    (Storage(disks=(DiskMatch(serial="OS1"), DiskMatch(path="/dev/vda"))), "already chosen by an earlier rule"),
    (Storage(disks=(DiskMatch(serial="OS1"), DiskMatch(serial="DATA1")), auto=AutoLayout()),
     "the automatic layout uses one disk"),
])
def test_layout_errors_name_the_setting(storage: Storage, message: str) -> None:
    with pytest.raises(LayoutError) as info:
        plan_storage(storage, DISKS)
    assert message in str(info.value)
