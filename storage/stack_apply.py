"""Building and taking down the arrays and volume groups of a StoragePlan, through the Runner.

Built after the partitions (and the LUKS2 volumes of encrypted physical volumes) exist; taken down
in the reverse order when an install ends however it ends: logical volumes deactivated before the
LUKS volumes under them are closed, arrays stopped last.
"""

from __future__ import annotations

from collections.abc import Callable

from installer.core.events import EventBus
from installer.core.runner import Runner
from storage.layout import StoragePlan
from storage.stack import PlannedGroup

DataDevice = Callable[[str], str]  # a device -> the device holding its data (an opened LUKS2 volume, or itself)


def create_raids(plan: StoragePlan, runner: Runner, events: EventBus, data_device: DataDevice,
                 built: list[str]) -> dict[str, str]:
    """Create each array (noted in built as it exists), then open its LUKS2 volume when it is an encrypted
    physical volume; returns array -> opened device for those."""
    opened: dict[str, str] = {}
    for raid in plan.raids:
        members = [m.device for m in raid.members]
        events.log(f"creating RAID {raid.level} array {raid.device} from {', '.join(members)}")
        # Old md superblocks on reused partitions would make mdadm ask; the disks were just erased anyway.
        for member in members:
            runner.run(["mdadm", "--zero-superblock", "--force", member], check=False)
        runner.run(raid.create_argv(members))
        built.append(raid.device)
        runner.run(["udevadm", "settle", "--timeout=30"], check=False)
        inner = data_device(raid.device)
        if inner != raid.device:
            opened[raid.device] = inner
    return opened


def create_groups(plan: StoragePlan, runner: Runner, events: EventBus, opened: dict[str, str],
                  built: list[str], data_device: DataDevice) -> None:
    """Create each group on its physical volumes (opened: the LUKS2 volumes of encrypted ones) and its
    logical volumes; a logical volume chosen for encryption gets its LUKS2 volume, opened (into opened)."""
    for group in plan.groups:
        pvs = [opened.get(m.device, m.device) for m in group.pvs]
        events.log(f"creating LVM volume group {group.name} on {', '.join(pvs)}")
        for pv in pvs:
            runner.run(["pvcreate", "--yes", "--force", pv])
        runner.run(["vgcreate", "--yes", group.name, *pvs])
        built.append(group.name)
        for volume in group.volumes:
            runner.run(volume.create_argv())
        runner.run(["udevadm", "settle", "--timeout=30"], check=False)
        for volume in group.volumes:
            inner = data_device(volume.device)
            if inner != volume.device:
                opened[volume.device] = inner


def deactivate_groups(groups: tuple[PlannedGroup, ...], runner: Runner, events: EventBus,
                      built: list[str]) -> list[str]:
    """vgchange -an for each group made (in built); returns the groups that stayed active."""
    failed = []
    for group in (g for g in groups if g.name in built):
        if runner.run(["vgchange", "--activate", "n", group.name], check=False).returncode != 0:
            failed.append(group.name)
            events.log(f"could not deactivate volume group {group.name}", level="error")
    return failed


def stop_raids(plan: StoragePlan, runner: Runner, events: EventBus, built: list[str]) -> list[str]:
    """mdadm --stop for each array made (in built); returns those that would not stop."""
    failed = []
    for raid in (r for r in plan.raids if r.device in built):
        if runner.run(["mdadm", "--stop", raid.device], check=False).returncode != 0:
            failed.append(raid.device)
            events.log(f"could not stop array {raid.device}", level="error")
    return failed
