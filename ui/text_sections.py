"""The line-based mode's users, cloud-init user-data and custom layout sections (RAID 1 and LVM included).

The same choices and the same checks as the Users, user-data and layout editor screens,
asked as numbered menus and prompts (ui/text_mode.py runs them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from installer.api import DiskInfo, Inventory
from profiles.model import LogicalVolume, Partition, Subvolume
from profiles.sizes import MiB
from ui import custom_layout as cl
from ui import stack_layout as sl
from ui.accounts import UserChoice, ssh_key_problem, user_problems
from ui.choices import FILESYSTEMS, FIRMWARES, Choices

END_OF_TEXT = "."
ACTIONS = ("done", "add a user", "change a user", "remove a user", "change the host name")


class Prompter(Protocol):
    choices: Choices

    def say(self, text: str = "") -> None: ...
    def ask(self, prompt: str, secret: bool = False) -> str: ...
    def ask_line(self, prompt: str) -> str: ...
    def menu(self, title: str, options: Sequence[str], current: str) -> str: ...
    def errors(self, errors: Sequence[str]) -> bool: ...


# -- users ---------------------------------------------------------------------------------
def users(t: Prompter) -> None:
    c = t.choices
    c.hostname = t.ask(f"Host name [{c.hostname}]: ") or c.hostname
    if not c.users:
        c.users.append(UserChoice("azureuser"))
    first = c.users[0]
    if not first.password_hash and not first.ssh_keys:
        edit_user(t, 0)
    while True:
        t.say("Users:")
        for i, user in enumerate(c.users, start=1):
            t.say(f"  {i}. {user.summary()}")
        action = t.menu("Next:", ACTIONS, "done")
        if action == "done":
            if not t.errors(c.check_users()):
                break
        elif action == "change the host name":
            c.hostname = t.ask(f"Host name [{c.hostname}]: ") or c.hostname
        elif action == "add a user":
            c.users.append(UserChoice(admin=False))
            edit_user(t, len(c.users) - 1)
        else:
            index = pick_user(t)
            if index is not None and action == "change a user":
                edit_user(t, index)
            elif index is not None and len(c.users) > 1:
                del c.users[index]
            elif index is not None:
                t.say("! keep at least one user: root stays locked, so nobody could log in")
    user_data(t)


def pick_user(t: Prompter) -> int | None:
    count = len(t.choices.users)
    answer = t.ask(f"Which user (1 to {count}): ")
    if answer.isdigit() and 1 <= int(answer) <= count:
        return int(answer) - 1
    t.say(f"! type a number from 1 to {count}")
    return None


def edit_user(t: Prompter, index: int) -> None:
    c = t.choices
    user = c.users[index]
    while True:
        user.name = t.ask(f"User name [{user.name}]: ") or user.name
        keep = " (Enter keeps it)" if user.password_hash else ""
        password = t.ask(f"Password{keep}: ", secret=True)
        confirm = t.ask("Password again: ", secret=True) if password else ""
        admin = t.ask(f"Administrator (sudo, group wheel)? [{'Y/n' if user.admin else 'y/N'}]: ").lower()
        user.admin = admin.startswith("y") if admin else user.admin
        ssh_keys(t, user)
        if not t.errors(user_problems(user, password, confirm)):
            c.set_password(password, index)
            return


def ssh_keys(t: Prompter, user: UserChoice) -> None:
    if user.ssh_keys and t.ask(f"Keep the {len(user.ssh_keys)} SSH key(s) already set? [Y/n]: ").lower() == "n":
        user.ssh_keys = []
    while True:
        key = t.ask("SSH public key (one line; Enter when done): ")
        if not key:
            return
        problem = ssh_key_problem(key)
        if problem:
            t.say(f"! SSH key: {problem}")
        else:
            user.ssh_keys.append(key)


# -- cloud-init user-data ------------------------------------------------------------------
def user_data(t: Prompter) -> None:
    c = t.choices
    while True:
        options = ["none", "type new user-data"] + (["keep the current one"] if c.user_data.strip() else [])
        answer = t.menu("cloud-init user-data (optional):", options, options[-1] if c.user_data.strip() else "none")
        if answer == "none":
            c.user_data = ""
        elif answer == "type new user-data":
            t.say(f"Type or paste it; a line holding only '{END_OF_TEXT}' ends it.")
            lines = []
            while (line := t.ask_line("| ")) != END_OF_TEXT:
                lines.append(line)
            c.user_data = "\n".join(lines) + "\n"
        if not t.errors(c.check_cloud_init()):
            return


# -- the layout ----------------------------------------------------------------------------
def layout(t: Prompter, inventory: Inventory) -> None:
    """Automatic (filesystem and firmware) or custom partitions on each target disk."""
    c = t.choices
    several = len(c.targets(inventory)) > 1
    mode = "custom" if several else t.menu("Layout:", ("automatic", "custom"), "custom" if c.custom else "automatic")
    if several:
        t.say("Several disks: a custom layout (the automatic one uses one disk).")
    c.set_custom(mode == "custom", inventory)
    if not c.custom:
        c.filesystem = t.menu("Root filesystem:", FILESYSTEMS, c.filesystem)  # type: ignore[assignment]
        c.firmware = t.menu("Firmware:", FIRMWARES, c.firmware)  # type: ignore[assignment]
        return
    for disk in c.targets(inventory):
        t.say(f"Partitions of {disk.path}:")
        for i, part in enumerate(c.disk_layout(disk.path, inventory), start=1):
            size = "rest" if part.grow else cl.size_text(part.size)
            what = part.mount or cl.subvolumes_text(part.subvolumes) or "-"
            if sl.member_name(part):
                what = f"{'raid' if part.raid is not None else 'lvm'}:{sl.member_name(part)}"
            t.say(f"  {cl.device(disk.path, i)}  {size}  {part.filesystem}  {what}")
        if t.menu("Partitions:", ("keep these", "enter new ones"), "keep these") == "enter new ones":
            c.layouts[disk.path] = enter_partitions(t, disk)
    c.stack.sync(p for d in c.targets(inventory) for p in c.disk_layout(d.path, inventory))
    arrays_and_groups(t)


def arrays_and_groups(t: Prompter) -> None:
    """What the partitions named raid:NAME and lvm:NAME make: each new array's mount point and filesystem,
    each volume group's logical volumes (kept when it has some, unless new ones are entered)."""
    stack = t.choices.stack
    for i, raid in enumerate(stack.raids):
        if raid.mount is None:
            mount = t.ask(f"RAID 1 array md/{raid.name}: mount point (/boot, /var, ...): ") or None
            filesystem = t.menu(f"  md/{raid.name} filesystem:", sl.ARRAY_FILESYSTEMS, raid.filesystem)
            stack.raids[i] = replace(raid, mount=mount, filesystem=filesystem)  # type: ignore[arg-type]
    for i, group in enumerate(stack.groups):
        t.say(f"Volume group {group.name}:")
        for volume in group.logical_volumes:
            t.say(f"  {group.name}/{volume.name}  {_volume_size(volume)}  {volume.filesystem}  {volume.mount or '-'}")
        if group.logical_volumes and t.menu("Logical volumes:", ("keep these", "enter new ones"),
                                            "keep these") == "keep these":
            continue
        stack.groups[i] = replace(group, logical_volumes=tuple(enter_volumes(t, group.name)))


def enter_volumes(t: Prompter, group: str) -> list[LogicalVolume]:
    volumes: list[LogicalVolume] = []
    while True:
        name = t.ask(f"{group}/ logical volume name (root, home, swap ...; Enter when done): ")
        if not name:
            return volumes
        mount = t.ask("  Mount point ('none' for swap): ")
        while True:
            text = t.ask("  Size (e.g. 20GiB, 50% of the group; 'rest' fills it): ")
            if text.lower() == "rest":
                size, percent, grow = None, None, True
                break
            if text.endswith("%") and text[:-1].strip().isdigit():
                size, percent, grow = None, int(text[:-1]), False
                break
            size, error = cl.parse_partition_size(text)
            if size is not None:
                percent, grow = None, False
                break
            t.say(f"! {error}")
        default = "swap" if mount == "none" else "xfs"
        filesystem = t.menu("  Filesystem:", sl.VOLUME_FILESYSTEMS, default)
        volumes.append(LogicalVolume(name=name, size=size, percent=percent, grow=grow,
                                     filesystem=filesystem,  # type: ignore[arg-type]
                                     mount=None if mount == "none" else mount or None))


def _volume_size(volume: LogicalVolume) -> str:
    if volume.grow:
        return "rest"
    return f"{volume.percent}%" if volume.percent is not None else cl.size_text(volume.size or 0)


def enter_partitions(t: Prompter, disk: DiskInfo) -> list[Partition]:
    parts: list[Partition] = []
    while True:
        number = len(parts) + 1
        mount = t.ask(f"{cl.device(disk.path, number)} mount point (/, /boot/efi, ...; 'none' for swap or "
                      "biosboot; raid:NAME or lvm:NAME for a RAID 1 member or an LVM volume; Enter when done): ")
        if not mount:
            return parts
        size, grow = ask_size(t)
        use, _, name = mount.partition(":")
        if use in ("raid", "lvm") and name:
            parts.append(sl.with_use(Partition(size=size, grow=grow), use, name))  # type: ignore[arg-type]
            continue
        default = "vfat" if mount == "/boot/efi" else "swap" if mount == "none" else "xfs"
        filesystem = t.menu("  Filesystem:", cl.PARTITION_FILESYSTEMS, default)
        subvolumes: tuple[Subvolume, ...] = ()
        while filesystem == "btrfs":
            found, error = cl.parse_subvolumes(t.ask("  btrfs subvolumes (name:/mount ...; Enter for none): "))
            if found is not None:
                subvolumes = found
                break
            t.say(f"! {error}")
        parts.append(Partition(size=size, grow=grow, filesystem=filesystem,  # type: ignore[arg-type]
                               mount=None if mount == "none" or subvolumes else mount, subvolumes=subvolumes))


def ask_size(t: Prompter) -> tuple[int, bool]:
    while True:
        text = t.ask("  Size (e.g. 512MiB, 20GiB; 'rest' fills the disk): ")
        if text.lower() == "rest":
            return MiB, True
        size, error = cl.parse_partition_size(text)
        if size is not None:
            return size, False
        t.say(f"! {error}")
