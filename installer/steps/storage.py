"""Storage: erase the target disks, write the new GPT, encrypt the chosen partitions, create filesystems.

Every destructive action of an install happens here and is listed, in order, in the plan. The
fstab entries are read back from the new filesystems (by UUID) for the system step.
"""

from __future__ import annotations

from installer.steps.base import InstallContext, PlanContext, Step, add_packages
from installer.steps.encryption_keys import enabled
from installer.steps.unlock import add_boot_args
from profiles import Problem, Profile
from profiles.sizes import format_size
from storage.apply import MKFS_COMMANDS, fstab_entries, missing_kernel_features, partition_and_format
from storage.luks import encrypted_partitions
from storage.release import release_disks
from storage.stack import stack_kernel_arguments


def destructive_actions(plan: PlanContext) -> tuple[str, ...]:
    """Every change to a disk, in the order it happens (the plan's "Destructive actions")."""
    enc = enabled(plan.profile)
    encrypted = {p.device for p in encrypted_partitions(plan.storage, enc.volumes)} if enc else set()
    actions = [f"{line}, on a target disk" for line in plan.storage.release]
    for target in plan.storage.targets:
        existing = len(target.disk.partitions)
        was = f" (holds {existing} partition{'s' if existing != 1 else ''} now)" if existing else ""
        actions.append(f"erase {target.disk.describe()}{was} and write a new GPT partition table")
        for part in target.partitions:
            what = part.mount or (", ".join(s.mount for s in part.subvolumes)) or part.filesystem
            fs = "" if part.filesystem in ("biosboot", "none") else f", format {part.filesystem}"
            luks = ", LUKS2-encrypted" if part.device(target.disk.path) in encrypted else ""
            if part.raid is not None or part.volume_group is not None:
                what = f"member of {part.raid}" if part.raid else f"physical volume of {part.volume_group}"
            actions.append(f"create {part.device(target.disk.path)} {format_size(part.size)} ({what}){luks}{fs}")
    for raid in plan.storage.raids:
        holds = raid.mount or (f"physical volume of {raid.volume_group}" if raid.volume_group else raid.filesystem)
        luks = ", LUKS2-encrypted" if raid.device in encrypted else ""
        fs = "" if raid.filesystem == "none" else f", format {raid.filesystem}"
        actions.append(f"create RAID {raid.level} array {raid.device} about {format_size(raid.size)} from "
                       f"{', '.join(m.device for m in raid.members)} ({holds}){luks}{fs}")
    for group in plan.storage.groups:
        actions.append(f"create LVM volume group {group.name} about {format_size(group.size)} on "
                       f"{', '.join(m.device for m in group.pvs)}" + (" (LUKS2-encrypted)" if group.encrypted else ""))
        for volume in group.volumes:
            size = "the rest" if volume.grow else f"{volume.percent}%" if volume.percent else format_size(volume.size)
            what = volume.mount or volume.filesystem
            actions.append(f"create logical volume {volume.device} {size} ({what}), format {volume.filesystem}")
    return tuple(actions)


def storage_commands(plan: PlanContext) -> list[str]:
    """The commands the step runs, by kind (each disk and partition gets its own)."""
    filesystems = sorted({h.filesystem for h in plan.storage.holders()} & set(MKFS_COMMANDS))
    commands = ["lsblk (what is still active on the disks)", "wipefs --all DISK", "GPT written with libparted",
                "partx --add DISK"]
    if enabled(plan.profile) is not None:
        commands.append("cryptsetup luksFormat, luksAddKey (recovery slot), token import, open")
    commands += [f"{MKFS_COMMANDS[fs]} for {fs}" for fs in filesystems]
    if plan.storage.raids:
        commands.append("mdadm --zero-superblock, mdadm --create (metadata 1.2)")
    if plan.storage.groups:
        commands.append("pvcreate, vgcreate, lvcreate")
    if any(h.subvolumes for h in plan.storage.holders()):
        commands.append("btrfs subvolume create")
    commands.append("blkid (the new UUIDs, for fstab)")
    return commands


class StorageStep(Step):
    id = "storage"
    title = "Partition and format disks"
    doing = "partitioning and formatting"

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        return (*destructive_actions(plan), "commands: " + "; ".join(storage_commands(plan)))

    def blockers(self, plan: PlanContext) -> list[Problem]:
        in_use = [Problem(("storage", "disks"), reason) for reason in plan.storage.in_use]
        if plan.kernel_filesystems is None:
            return in_use
        return in_use + [Problem((), f"this kernel cannot mount {fs} (needed by the layout); install from the ISO "
                                 "in a VM instead") for fs in missing_kernel_features(plan.storage,
                                                                                      plan.kernel_filesystems)]

    def amend(self, profile: Profile) -> Profile:
        """mdadm and lvm2 join a dnf-built system (its initramfs assembles and activates with them); a root
        image must bring them itself, as it brings its kernel and boot loader."""
        storage = profile.storage
        thin = any(v.thin_pool for g in storage.volume_groups for v in g.logical_volumes)
        # device-mapper-persistent-data: thin_check, which LVM runs before it activates a thin pool (at boot too)
        needed = ((["mdadm"] if storage.raids else []) + (["lvm2"] if storage.volume_groups else [])
                  + (["device-mapper-persistent-data"] if thin else []))
        return add_packages(profile, needed) if needed and profile.payload.image is None else profile

    def run(self, ctx: InstallContext) -> None:
        # Checked again now (the plan's view may be minutes old): what an earlier install left active.
        for line in release_disks(ctx.runner, [t.disk.path for t in ctx.storage.targets]):
            ctx.events.log(line)
        data_device = ctx.encrypted.data_device if ctx.encrypted is not None else None
        ctx.opened = partition_and_format(ctx.storage, ctx.runner, ctx.events, data_device=data_device,
                                          built=ctx.built)
        ctx.fstab = fstab_entries(ctx.storage, ctx.runner, ctx.opened)
        add_boot_args(ctx, stack_kernel_arguments(ctx.storage.groups))
