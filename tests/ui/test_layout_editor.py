"""The custom layout editor at 80x24: editing, the engine's verdict inline, the bar, prefill, line mode."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from installer.dryrun import DryRunAPI
from profiles.model import DiskMatch, Partition, Profile, Storage, Subvolume
from profiles.sizes import GiB, MiB
from tests.support.ui import SIZE, Compare, current, dry_run, make_app, run, screen_text, shown, walk
from ui.app import InstallerApp
from ui.choices import Choices
from ui.screens.disks import DisksScreen
from ui.screens.layout_editor import LayoutEditorScreen
from ui.widgets import Choice

TO_EDITOR = ("ctrl+n", "space", "e")  # vda target, open the editor (it switches the layout to custom)


async def to_editor(pilot: Pilot[Any], app: InstallerApp) -> None:
    await walk(*TO_EDITOR)(pilot)
    assert isinstance(app.screen, LayoutEditorScreen)


async def set_field(pilot: Pilot[Any], app: InstallerApp, name: str, value: str) -> str:
    current(app).query_one(f"#{name}", Input).value = value
    return await shown(pilot, app)


async def test_editor_starts_from_the_automatic_layout_and_draws_it_to_scale() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await walk("ctrl+n", "space", "tab", "tab", "tab", "space")(pilot)  # the Layout choice: custom
        text = await shown(pilot, app)
        assert "( ) automatic  (*) custom" in text and "Root filesystem" not in text and "Edit partitions" in text
        await pilot.press("tab", "enter")  # the Edit partitions button
        assert isinstance(app.screen, LayoutEditorScreen)
        text = await shown(pilot, app)
        assert "# /dev/vda1         512 MiB       vfat     /boot/efi  [ESP]" in text
        assert "% /dev/vda3        62.5 GiB +rest xfs      /  [root]" in text
        bar = next(line for line in text.splitlines() if line.startswith("[#"))
        assert len(bar.rstrip()) == 78 and bar.count("%") > 70 and "!" not in bar
        assert "/dev/vda: 64 GiB, 3 partitions, 1 MiB free" in text
        assert "a Add" in text and "d Remove" in text and "esc Back" in text
        assert "! " not in text.split("Done")[-1]  # the automatic layout is fine


async def test_the_editor_needs_a_target_disk_first() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await walk("ctrl+n", "e")(pilot)
        text = await shown(pilot, app)
        assert isinstance(app.screen, DisksScreen) and "(*) custom" in text
        assert "! choose a target disk first: highlight it and press Space until it shows [E]" in text


async def test_add_resize_remove_and_back_to_disks() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_editor(pilot, app)
        await pilot.press("down", "a")  # a new 10 GiB xfs partition after /boot
        text = await shown(pilot, app)
        assert "% /dev/vda3          10 GiB       xfs      -" in text
        assert "! /dev/vda3 mount: a xfs partition needs a mount point" in text
        text = await set_field(pilot, app, "mount", "/var")
        assert "! " not in text.split("Done")[-1] and "/dev/vda3          10 GiB       xfs      /var" in text
        await pilot.press("plus", "plus")
        assert "/dev/vda3          12 GiB" in await shown(pilot, app)
        await pilot.press("minus")
        assert "/dev/vda3          11 GiB" in await shown(pilot, app)
        assert current(app).query_one("#size", Input).value == "11GiB"
        await pilot.press("down", "d")  # remove the root partition
        text = await shown(pilot, app)
        assert "! layout: no partition is mounted at /" in text and "3 partitions" in text
        bar = next(line for line in text.splitlines() if line.startswith("[#"))
        assert bar.count(".") > 50  # the freed space shows as free
        await pilot.press("escape")
        assert isinstance(app.screen, DisksScreen)
        text = await shown(pilot, app)
        assert "no partition is mounted at /" in text and "/dev/vda    [#" in text
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, DisksScreen)  # the layout's problem keeps us here


@pytest.mark.parametrize(("field", "value", "message"), [
    ("size", "lots", "size: 'lots' is not a size (examples: 512MiB, 20GiB, 1TiB)"),
    ("size", "100KiB", "size: at least 1MiB"),
    ("size", "80GiB", "the layout needs 81.5 GiB but /dev/vda has 64 GiB"),
    ("mount", "/boot", "mount point /boot is used twice"),
    ("mount", "var", "'var' is not an absolute mount point such as /var"),
    ("label", "much-too-long-label", "/dev/vda3 label: xfs labels are at most 12 characters"),
    ("subvolumes", "home", "subvolumes: 'home' is not NAME:/MOUNT"),
    ("subvolumes", "home:/home", "/dev/vda3 subvolumes: subvolumes need filesystem: btrfs"),
])
async def test_each_error_a_field_can_make_is_shown_inline(field: str, value: str, message: str) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_editor(pilot, app)
        await pilot.press("down", "down")  # the root partition
        screen = current(app)
        assert isinstance(screen, LayoutEditorScreen)
        screen.update_part(grow=False)  # a fixed size, so a too large one shows
        text = await set_field(pilot, app, field, value)
        assert f"! {message}" in text.replace("\n", " ") or message in " ".join(text.split())


async def test_filesystem_and_grow_choices_and_their_errors() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_editor(pilot, app)
        await pilot.press("down")  # /boot
        await pilot.press("tab", "tab", "space")  # Fill the rest: yes, a second growing partition
        text = " ".join((await shown(pilot, app)).split())  # the message wraps
        # Blamed on the second growing partition, pointing at the first: both named by device from key paths.
        assert "! /dev/vda3 grow: more than one partition on this disk has grow: true (also at /dev/vda2)" in text
        await pilot.press("left", "tab", "right", "right", "right", "right")  # grow off; filesystem: swap
        assert "! /dev/vda2 mount: a swap partition has no mount point" in await shown(pilot, app)
        await pilot.press("left")  # vfat
        assert "vfat is only for the EFI system partition" in await shown(pilot, app)
        await pilot.press("left", "left", "left")  # back to xfs (Fill the rest went back to no above)
        assert "! " not in (await shown(pilot, app)).split("Done")[-1]
        await pilot.press("shift+tab", "shift+tab", "shift+tab", "up", "d")  # remove the ESP
        text = " ".join((await shown(pilot, app)).split())  # the message wraps
        assert "bootloader: the layout has neither a BIOS boot partition nor an EFI system partition" in text


async def test_two_disks_and_btrfs_subvolumes_become_the_profile() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await walk("ctrl+n", "space", "e", "escape", "down", "space")(pilot)
        text = await shown(pilot, app)
        assert "[E] /dev/vda" in text and "[E] /dev/vdb" in text  # custom: several targets
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, LayoutEditorScreen)
        await pilot.press("shift+tab", "space")  # the disk choice (above the list): /dev/vdb
        await pilot.press("tab")
        text = await shown(pilot, app)
        assert "/dev/vdb: 200 GiB, 0 partitions" in text and "no partitions: press a" in text
        await pilot.press("a")
        current(app).query_one("#fs", Choice).set_value("btrfs")
        screen = current(app)
        assert isinstance(screen, LayoutEditorScreen)
        screen.update_part(filesystem="btrfs")
        await set_field(pilot, app, "size", "100GiB")
        text = await set_field(pilot, app, "subvolumes", "data:/srv/data, logs:/var/log")
        assert "data:/srv/data logs:/var/log" in text and "! " not in text.split("Done")[-1]
        await pilot.press("escape")
        built = app.choices.to_profile(app.api.probe())
        assert built.storage.auto is None
        assert [p.disk for p in built.storage.partitions] == [0, 0, 0, 1]
        assert built.storage.partitions[-1] == Partition(
            size=100 * GiB, disk=1, filesystem="btrfs",
            subvolumes=(Subvolume("data", "/srv/data"), Subvolume("logs", "/var/log")))
        assert built.storage.disks[1] == DiskMatch(path="/dev/vdb", serial="DATA-KEEP-0001")


EXPLICIT = Profile(storage=Storage(
    disks=(DiskMatch(serial="OS-DISK-0001"),),
    partitions=(Partition(size=MiB, filesystem="biosboot"),
                Partition(size=512 * MiB, filesystem="vfat", mount="/boot/efi", label="ESP"),
                Partition(size=8 * GiB, grow=True, filesystem="btrfs", label="root",
                          subvolumes=(Subvolume("root", "/"), Subvolume("home", "/home"))))))


async def test_a_profile_with_explicit_partitions_prefills_the_editor() -> None:
    app = make_app(choices=Choices.from_profile(EXPLICIT))
    async with app.run_test(size=SIZE) as pilot:
        await walk("ctrl+n")(pilot)
        text = await shown(pilot, app)
        assert "(*) custom" in text and "[E] /dev/vda" in text and "Root filesystem" not in text
        await pilot.press("e")
        text = await shown(pilot, app)
        assert "# /dev/vda1           1 MiB       biosboot -" in text
        assert "% /dev/vda3        63.5 GiB +rest btrfs    root:/ home:/home  [root]" in text


async def test_happy_path_with_a_custom_layout_installs_it() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_editor(pilot, app)
        await pilot.press("down", "a")
        await set_field(pilot, app, "mount", "/var/lib/containers")
        await walk("escape", "ctrl+n", "ctrl+n", "space", "ctrl+n", "tab", "tab", "=pw", "tab", "=pw",
                   "ctrl+n", values={"pw": "secret123"})(pilot)
        text = await shown(pilot, app)
        assert "create /dev/vda3 10 GiB (/var/lib/containers), format xfs" in " ".join(text.split()) or \
            "Review" in text
        await walk("tab", "enter")(pilot)
        api = app.api
        assert isinstance(api, DryRunAPI) and len(api.installed) == 1
        mounts = [p.mount for p in api.installed[0].storage.partitions]
        assert mounts == ["/boot/efi", "/boot", "/var/lib/containers", "/"]
        assert "Azure Linux is installed" in screen_text(app)


def test_snapshot_layout_editor(snap_compare: Compare) -> None:
    assert snap_compare(make_app(), run_before=walk(*TO_EDITOR, "down", "a"))


def test_snapshot_disks_with_a_custom_layout(snap_compare: Compare) -> None:
    assert snap_compare(make_app(), run_before=walk(*TO_EDITOR, "escape"))


# -- line mode -----------------------------------------------------------------------------
USERS = ["web-01", "", "secret123", "secret123", "", "", "", ""]


def test_line_mode_enters_an_explicit_layout_checked_by_the_same_code() -> None:
    answers = ["", "", "",
               "1", "", "2", "2",  # vda, keep none, custom layout, enter new partitions
               "/boot/efi", "512MiB", "",  # vfat is the default for /boot/efi
               "/", "lots", "rest", "3", "root:/ home:/home",  # a bad size first; btrfs with subvolumes
               "/", "1GiB", "",  # / twice: refused below
               "",  # done: the checks refuse it, and the disk question comes again
               "1", "", "2", "2", "/boot/efi", "512MiB", "", "none", "8GiB", "5", "/", "rest", "", "",
               "",  # encryption off
               "", "1", "", "",  # software
               *USERS, "yes"]
    code, out, engine = run(answers)
    assert code == 0, out
    assert "! size: 'lots' is not a size" in out
    assert "mount point / is used twice" in out
    parts = engine.installed[0].storage.partitions
    assert [(p.filesystem, p.mount, p.grow) for p in parts] == [
        ("vfat", "/boot/efi", False), ("swap", None, False), ("xfs", "/", True)]
    assert engine.installed[0].storage.auto is None


def test_line_mode_keeps_the_seeded_layout() -> None:
    answers = ["", "", "", "1", "", "2", "", "", "", "1", "", "", *USERS, "yes"]
    code, out, engine = run(answers, dry_run())
    assert code == 0, out
    assert "/dev/vda3  2GiB  xfs  /" not in out and "/dev/vda3  rest  xfs  /" in out
    assert [p.mount for p in engine.installed[0].storage.partitions] == ["/boot/efi", "/boot", "/"]
