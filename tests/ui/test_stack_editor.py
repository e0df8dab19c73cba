"""RAID 1 and LVM in the custom layout editor at 80x24: partitions named as members, the arrays and volume
groups they make, edited on their own screen, every problem named inline by the engine's own checks."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from installer.dryrun import DryRunAPI
from profiles.model import DiskMatch, LogicalVolume, Partition, Profile, RaidArray, Storage, VolumeGroup
from profiles.sizes import GiB, MiB
from tests.support.ui import SIZE, Compare, current, make_app, run, screen_text, shown, walk
from ui.app import InstallerApp
from ui.choices import Choices
from ui.screens.layout_editor import LayoutEditorScreen
from ui.screens.stack_editor import StackEditorScreen
from ui.stack_layout import Stack
from ui.widgets import Choice

TWO_TARGETS = ("ctrl+n", "space", "e", "escape", "down", "space", "e")  # vda and vdb targets, then the editor


async def use_as(pilot: Pilot[Any], app: InstallerApp, steps: int, name: str) -> str:
    """The highlighted partition: Use as moved right `steps` times (RAID 1, then LVM), then named."""
    current(app).query_one("#use", Choice).focus()
    for _ in range(steps):
        await pilot.press("right")
    current(app).query_one("#member", Input).value = name
    return await shown(pilot, app)


async def field(pilot: Pilot[Any], app: InstallerApp, name: str, value: str) -> str:
    current(app).query_one(f"#{name}", Input).value = value
    return " ".join((await shown(pilot, app)).split())  # messages wrap


async def highlight(pilot: Pilot[Any], app: InstallerApp, list_id: str, row: int) -> None:
    current(app).query_one(f"#{list_id}").focus()
    await pilot.pause()
    current(app).query_one(f"#{list_id}").highlighted = row  # type: ignore[attr-defined]
    await pilot.pause()


async def mirrored_boot_and_lvm_root(pilot: Pilot[Any], app: InstallerApp) -> None:
    """vda2 (/boot) and a new vdb1 as RAID 1 'boot', vda3 (/) as the volume group 'sys'."""
    await walk(*TWO_TARGETS)(pilot)
    assert isinstance(app.screen, LayoutEditorScreen)
    await highlight(pilot, app, "partitions", 1)
    text = await use_as(pilot, app, 1, "boot")
    assert "= /dev/vda2           1 GiB       raid     md/boot" in text
    await highlight(pilot, app, "partitions", 2)
    text = await use_as(pilot, app, 2, "sys")
    assert "% /dev/vda3        62.5 GiB +rest lvm      vg sys" in text
    # One member is not a mirror: the engine says so, naming the array.
    assert "! md/boot level: RAID 1 needs at least 2 member" in " ".join(text.split())
    current(app).query_one("#disk", Choice).focus()
    await pilot.press("right")  # /dev/vdb
    await pilot.press("tab", "a")
    await field(pilot, app, "size", "1GiB")
    text = await use_as(pilot, app, 1, "boot")
    assert "# /dev/vdb1           1 GiB       raid     md/boot" in text


async def test_raid1_across_two_disks_and_an_lvm_root_become_the_profile_and_install() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await mirrored_boot_and_lvm_root(pilot, app)
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, StackEditorScreen)
        text = await shown(pilot, app)
        # What the partitions were for moved with them: /boot to the array, / to a growing logical volume.
        assert "md/boot       RAID 1  /dev/vda2 /dev/vdb1      xfs    /boot" in text
        assert "vg sys         on /dev/vda3" in text
        assert "sys/root" in text and "+rest xfs    /" in text
        assert "! " not in text.split("Done")[-1]
        await highlight(pilot, app, "volumes", 2)  # sys/root
        await pilot.press("a")  # a second logical volume: swap
        await field(pilot, app, "name", "swap")
        await field(pilot, app, "size", "2GiB")
        current(app).query_one("#fs", Choice).focus()
        await pilot.press("right", "right", "right")  # xfs -> ext4 -> btrfs -> swap
        text = await shown(pilot, app)
        assert "sys/swap" in text and "2 GiB" in text and "! " not in text.split("Done")[-1]

        storage = app.choices.to_profile(app.api.probe()).storage
        assert storage.raids == (RaidArray(name="boot", level=1, filesystem="xfs", mount="/boot", label="boot"),)
        assert storage.volume_groups == (VolumeGroup(name="sys", logical_volumes=(
            LogicalVolume(name="root", grow=True, mount="/", filesystem="xfs", label="root"),
            LogicalVolume(name="swap", size=2 * GiB, filesystem="swap"))),)
        assert [(p.disk, p.raid, p.volume_group, p.filesystem) for p in storage.partitions] == [
            (0, None, None, "vfat"), (0, "boot", None, "none"), (0, None, "sys", "none"), (1, "boot", None, "none")]

        # On through the flow: the review shows the stack, and the dry run installs exactly that storage.
        await walk("escape", "escape", "ctrl+n", "ctrl+n", "space", "ctrl+n", "tab", "tab", "=pw", "tab", "=pw",
                   "ctrl+n", values={"pw": "secret123"})(pilot)
        await walk("tab", "enter")(pilot)
        api = app.api
        assert isinstance(api, DryRunAPI) and len(api.installed) == 1, screen_text(app)
        assert api.installed[0].storage.raids == storage.raids
        assert api.installed[0].storage.volume_groups == storage.volume_groups


async def test_the_engine_names_each_stack_problem_inline() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await mirrored_boot_and_lvm_root(pilot, app)
        await pilot.press("v")
        await highlight(pilot, app, "volumes", 2)  # sys/root
        text = await field(pilot, app, "size", "150%")
        assert "! sys/root percent: percent runs from 1 to 100" in text
        text = await field(pilot, app, "size", "lots")
        assert "! size: 'lots' is not a size" in text
        await field(pilot, app, "size", "")
        await highlight(pilot, app, "volumes", 1)  # vg sys: encrypted, with no encryption chosen
        current(app).query_one("#encrypted", Choice).focus()
        await pilot.press("right")
        text = " ".join((await shown(pilot, app)).split())
        assert "! vg sys encrypted: an encrypted volume group needs the encryption section" in text
        await pilot.press("right")
        await highlight(pilot, app, "volumes", 0)  # md/boot holding /var instead: GRUB would find no /boot
        text = await field(pilot, app, "mount", "/var")
        assert "! sys/root mount: / on a logical volume: GRUB needs /boot on a partition or a RAID 1 array" in text


async def test_renaming_a_member_takes_its_array_along() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await walk(*TWO_TARGETS)(pilot)
        await highlight(pilot, app, "partitions", 2)
        await use_as(pilot, app, 2, "sys")
        # typed one key at a time: every intermediate name is the same group, renamed
        for typed in ("s", "sy", "sys2"):
            current(app).query_one("#member", Input).value = typed
            await pilot.pause()
        assert [g.name for g in app.choices.stack.groups] == ["sys2"]
        assert app.choices.stack.groups[0].logical_volumes[0].mount == "/"
        await use_as(pilot, app, 1, "sys2")  # back to a plain filesystem: the group goes
        assert app.choices.stack.groups == [] and app.choices.layouts["/dev/vda"][2].volume_group is None


STACKED = Profile(storage=Storage(
    disks=(DiskMatch(serial="OS-DISK-0001"),),
    partitions=(Partition(size=512 * MiB, filesystem="vfat", mount="/boot/efi"),
                Partition(size=8 * GiB, grow=True, filesystem="none", volume_group="sys")),
    volume_groups=(VolumeGroup(name="sys", logical_volumes=(
        LogicalVolume(name="root", percent=80, mount="/", filesystem="ext4"),
        LogicalVolume(name="home", grow=True, mount="/home", filesystem="xfs"))),)))


async def test_a_profile_with_a_volume_group_prefills_both_screens() -> None:
    app = make_app(choices=Choices.from_profile(STACKED))
    async with app.run_test(size=SIZE) as pilot:
        await walk("ctrl+n", "e")(pilot)
        text = await shown(pilot, app)
        assert "/dev/vda2" in text and "lvm      vg sys" in text
        await pilot.press("v")
        text = await shown(pilot, app)
        assert "sys/root" in text and "80%" in text and "sys/home" in text and "+rest xfs    /home" in text


def test_the_stack_follows_the_partitions() -> None:
    stack = Stack([], [])
    boot = [Partition(size=GiB, filesystem="none", raid="boot"), Partition(size=GiB, filesystem="none", raid="boot",
                                                                          disk=1)]
    stack.sync(boot)
    assert stack.raids == [RaidArray(name="boot", level=1, filesystem="ext4")]
    stack.raids[0] = RaidArray(name="boot", level=1, filesystem="xfs", mount="/boot")
    renamed = [Partition(size=GiB, filesystem="none", raid="mirror"), boot[1]]
    stack.sync(renamed, renamed=("boot", "mirror"))  # boot is still used by the other member: a new array
    assert [r.name for r in stack.raids] == ["mirror", "boot"] and stack.raids[1].mount == "/boot"
    stack.sync([])
    assert stack.raids == [] and stack.groups == []


def test_snapshot_stack_editor(snap_compare: Compare) -> None:
    async def prepare(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, InstallerApp)
        await mirrored_boot_and_lvm_root(pilot, app)
        await pilot.press("v")
        await highlight(pilot, app, "volumes", 2)

    assert snap_compare(make_app(), run_before=prepare)


# -- line mode -----------------------------------------------------------------------------
LINE_USERS = ["web-01", "", "secret123", "secret123", "", "", "", ""]


def test_line_mode_mirrors_boot_across_two_disks_and_puts_the_root_on_lvm() -> None:
    answers = ["", "", "",
               "1 2", "",  # vda and vdb: several targets make the layout custom
               "2", "/boot/efi", "512MiB", "", "raid:boot", "1GiB", "lvm:sys", "rest", "",  # vda
               "2", "raid:boot", "1GiB", "",  # vdb
               "/boot", "2",  # md/boot: /boot, ext4
               "root", "/", "rest", "", "swap", "none", "50%", "4", "",  # sys: root and swap (a bad size first)
               "",  # encryption off
               "", "1", "", "",  # software
               *LINE_USERS, "yes"]
    answers[answers.index("50%")] = "lots"
    answers.insert(answers.index("lots") + 1, "50%")
    code, out, engine = run(answers)
    assert code == 0, out[-3000:]
    assert "Several disks: a custom layout" in out and "! size: 'lots' is not a size" in out
    storage = engine.installed[0].storage
    assert [(p.disk, p.raid, p.volume_group) for p in storage.partitions] == [
        (0, None, None), (0, "boot", None), (0, None, "sys"), (1, "boot", None)]
    assert storage.raids == (RaidArray(name="boot", level=1, mount="/boot", filesystem="ext4"),)
    assert storage.volume_groups == (VolumeGroup(name="sys", logical_volumes=(
        LogicalVolume(name="root", grow=True, mount="/", filesystem="xfs"),
        LogicalVolume(name="swap", percent=50, filesystem="swap"))),)
