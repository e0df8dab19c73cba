"""Writing partition tables with pyparted (the one module that imports it)."""

from __future__ import annotations

import parted

from storage.layout import DiskPlan


class PartitionError(RuntimeError):
    pass


def write_gpt(plan: DiskPlan) -> None:
    """Replace the disk's partition table by a fresh GPT holding exactly the planned partitions."""
    try:
        device = parted.getDevice(plan.disk.path)
        disk = parted.freshDisk(device, "gpt")
        sector = device.sectorSize
        for part in plan.partitions:
            geometry = parted.Geometry(device=device, start=part.start // sector, length=part.size // sector)
            # The filesystem type only sets the partition's hint; no filesystem is created here.
            name = _PARTED_FS.get(part.filesystem)
            fs = parted.FileSystem(type=name, geometry=geometry) if name else None
            partition = parted.Partition(disk=disk, type=parted.PARTITION_NORMAL, fs=fs, geometry=geometry)
            disk.addPartition(partition=partition, constraint=parted.Constraint(exactGeom=geometry))
            if part.label:
                partition.set_name(part.label)
            # Flags are how pyparted 3.12 sets the GPT type GUIDs the firmware looks for.
            if part.filesystem == "biosboot":
                partition.setFlag(parted.PARTITION_BIOS_GRUB)
            elif part.filesystem == "vfat":
                partition.setFlag(parted.PARTITION_BOOT)
            elif part.filesystem == "swap":
                partition.setFlag(parted.PARTITION_SWAP)
        # commitToDevice, not commit(): telling the kernel is done by partx afterwards, which
        # also works on kernels that do not parse partition tables themselves.
        disk.commitToDevice()
    except (parted.PartedException, parted.IOException, parted.DiskException, parted.PartitionException) as err:
        raise PartitionError(f"cannot write the partition table of {plan.disk.path}: {err}") from None
    finally:
        if "device" in locals():
            device.removeFromCache()


_PARTED_FS = {"ext4": "ext4", "xfs": "xfs", "btrfs": "btrfs", "vfat": "fat32", "swap": "linux-swap(v1)"}
