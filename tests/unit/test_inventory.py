from __future__ import annotations

import json

from installer.core.runner import RecordingRunner, Reply
from storage.inventory import Inventory, probe

LSBLK = {"blockdevices": [
    {"path": "/dev/vda", "size": 8589934592, "model": "QEMU HARDDISK ", "serial": "AZL-TARGET-0", "type": "disk",
     "ro": False, "log-sec": 512, "fstype": None},
    {"path": "/dev/loop0", "size": 400000000, "model": None, "serial": None, "type": "loop", "ro": True,
     "log-sec": 512, "fstype": "squashfs"},
    {"path": "/dev/sr0", "size": 700000000, "model": "CD", "serial": None, "type": "rom", "ro": True,
     "log-sec": 2048, "fstype": "iso9660"},
]}
SFDISK = {"partitiontable": {"label": "gpt", "sectorsize": 512, "partitions": [
    {"node": "/dev/vda1", "start": 2048, "size": 2048, "type": "21686148-6449-6E6F-744E-656564454649"},
    {"node": "/dev/vda2", "start": 4096, "size": 1048576, "type": "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
     "name": "root"},
]}}


def test_probe_reads_disks_partitions_and_filesystems_only() -> None:
    runner = RecordingRunner()
    runner.reply(["lsblk"], Reply(output=json.dumps(LSBLK)))
    runner.reply(["sfdisk", "--json", "/dev/vda"], Reply(output=json.dumps(SFDISK)))
    runner.reply(["blkid", "--probe", "--output", "export", "--offset", str(4096 * 512)],
                 Reply(output="UUID=abcd\nTYPE=ext4\nLABEL=root\n"))
    runner.reply(["blkid"], Reply(returncode=2))
    inventory = probe(runner)
    (disk,) = inventory.disks  # the read-only live squashfs loop and the CD-ROM are not offered
    assert (disk.path, disk.serial, disk.model, disk.table) == ("/dev/vda", "AZL-TARGET-0", "QEMU HARDDISK", "gpt")
    assert [(p.number, p.start, p.size, p.fstype, p.label) for p in disk.partitions] == [
        (1, 1048576, 1048576, None, None), (2, 2097152, 536870912, "ext4", "root")]
    assert Inventory.from_json(inventory.to_json()) == inventory
    assert {c[0] for c in runner.calls} == {"lsblk", "sfdisk", "blkid"}  # nothing that writes
