"""Pilot tests at 80x24 against the dry-run API: every screen, the happy path, every validation error."""

from __future__ import annotations

import threading

from textual.widgets import Button, Input, TextArea

from installer.core.events import Event
from installer.core.passwords import verify
from installer.dryrun import DryRunAPI
from profiles.model import AutoLayout, DiskMatch, Payload, Profile, Storage, System, User
from tests.support.ui import SIZE, current, dry_run, make_app, screen_text, shown, to_disks, to_review, to_users, typed
from ui.app import InstallerApp
from ui.choices import Choices, not_applied
from ui.screens.disks import DisksScreen
from ui.screens.done import DoneScreen
from ui.screens.encryption import EncryptionScreen
from ui.screens.progress import ProgressScreen
from ui.screens.quit import QuitScreen
from ui.screens.review import ReviewScreen
from ui.screens.software import SoftwareScreen
from ui.screens.users import UsersScreen
from ui.screens.welcome import WelcomeScreen


async def test_welcome_is_usable_at_once_and_changes_values() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        text = await shown(pilot, app)
        assert isinstance(app.screen, WelcomeScreen)
        assert "Language        < C.UTF-8 >" in text and "ctrl+n Next" in text and "ctrl+q Quit" in text
        await pilot.press("right", "tab", "right", "right", "tab", "left")
        assert (app.choices.locale, app.choices.keyboard, app.choices.timezone) == (
            "de_AT.UTF-8", "de-latin1", "Europe/Paris")
        assert "Found 3 disks." in await shown(pilot, app)


async def test_disks_lists_partitions_and_draws_the_layout_to_scale() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_disks(pilot, app)
        text = await shown(pilot, app)
        assert "[ ] /dev/vdb         200 GiB  Virtual Disk       DATA-KEEP-0001 3 partitions" in text
        await pilot.press("down")
        assert "xfs" in await shown(pilot, app) and "data" in screen_text(app)
        await pilot.press("up", "space")
        text = await shown(pilot, app)
        assert "[E] /dev/vda" in text
        bar = next(line for line in text.splitlines() if line.startswith("[#"))
        assert len(bar.rstrip()) == 78 and bar.count("%") > 70  # root fills the 64 GiB disk
        assert "/dev/vda3        62.5 GiB  xfs      /" in text


async def test_disks_validation_errors() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_disks(pilot, app)
        await pilot.press("ctrl+n")
        assert "! choose a target disk" in await shown(pilot, app)
        await pilot.press("down", "down", "space")  # the 1 GiB disk is too small
        text = await shown(pilot, app)
        assert "storage.disks[0]: the layout needs" in text and "/dev/vdc has 1 GiB" in text
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, DisksScreen)
        await pilot.press("space", "up", "space", "space", "up", "space")  # vdc keep, vdb keep, vda target
        text = await shown(pilot, app)
        assert "[E] /dev/vda" in text and "[K] /dev/vdb" in text and "[K] /dev/vdc" in text
        assert app.choices.check_disks(app.api, app.inventory or app.api.probe()) == []


async def test_disks_screen_shows_probing_until_the_inventory_arrives() -> None:
    api = dry_run()
    gate = threading.Event()
    original = api.probe

    def slow_probe():  # type: ignore[no-untyped-def]
        gate.wait(10)
        return original()

    api.probe = slow_probe  # type: ignore[method-assign]
    app = InstallerApp(api, Choices())
    async with app.run_test(size=SIZE) as pilot:
        assert "Probing disks in the background" in await shown(pilot, app)
        await to_disks(pilot, app)
        assert "Probing disks in the background" in await shown(pilot, app)
        await pilot.press("ctrl+n")
        assert "still being probed" in await shown(pilot, app)
        gate.set()
        await app.workers.wait_for_complete()
        assert "/dev/vda" in await shown(pilot, app)


async def test_encryption_validates_and_says_it_is_not_applied() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_disks(pilot, app)
        await pilot.press("space", "ctrl+n")
        assert isinstance(app.screen, EncryptionScreen)
        text = await shown(pilot, app)
        refused = not_applied(app.api, None)  # the plan's blocker on this machine (none where device-mapper exists)
        assert refused is None or "cannot be done here (Review lists it as a blocker" in text
        await pilot.press("space")  # passphrase
        assert "Passphrase" in await shown(pilot, app)
        await pilot.press("tab")
        await typed(pilot, "short")
        await pilot.press("ctrl+n")
        assert "! the passphrase needs at least 8 characters" in await shown(pilot, app)
        await typed(pilot, "-longer")
        await pilot.press("tab")
        await typed(pilot, "different1")
        await pilot.press("ctrl+n")
        assert "! the two passphrases differ" in await shown(pilot, app)
        assert "*" * 10 in screen_text(app) and "different1" not in screen_text(app)
        await pilot.press("shift+tab", "shift+tab", "space")  # keyvault-secret
        await pilot.press("tab")
        await typed(pilot, "http://example.com")
        await pilot.press("ctrl+n")
        text = await shown(pilot, app)
        assert "vault URL must look like" in text and "key or secret name" in text
        current(app).query_one("#vault_url", Input).value = "https://my-vault.vault.azure.net"
        current(app).query_one("#key_name", Input).value = "disk-key"
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, SoftwareScreen)
        assert app.choices.encryption == "keyvault-secret"


async def test_software_validation_and_choices() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_disks(pilot, app)
        await pilot.press("space", "ctrl+n", "ctrl+n")
        assert isinstance(app.screen, SoftwareScreen)
        await pilot.press("down", "space", "ctrl+n")  # environment: none, nothing else
        assert "nothing would be installed" in await shown(pilot, app)
        await pilot.press("tab", "space")  # add the azure-agents group
        assert "[x] Azure agents" in await shown(pilot, app)
        await pilot.press("tab")
        await typed(pilot, "vim-minimal bad/name")
        await pilot.press("ctrl+n")
        assert "'bad/name' is not a package name" in await shown(pilot, app)
        await typed(pilot, "vim-minimal", clear=True)
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, UsersScreen)
        assert app.choices.groups == ["azure-agents"] and app.choices.package_list() == ("vim-minimal",)


async def test_users_validation_and_hashing_at_once() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_users(pilot, app)
        await typed(pilot, "", clear=True)
        await typed(pilot, "bad_host!")
        await pilot.press("tab")
        await typed(pilot, "", clear=True)
        await typed(pilot, "root")
        await pilot.press("ctrl+n")
        text = await shown(pilot, app)
        assert "! host name" in text and "'root' is a system account" in text
        assert "give the user a password or an SSH key" in text
        await pilot.press("shift+tab")
        await typed(pilot, "", clear=True)
        await typed(pilot, "web-01")
        await pilot.press("tab")
        await typed(pilot, "", clear=True)
        await typed(pilot, "admin")
        await pilot.press("tab")
        await typed(pilot, "secret123")
        await pilot.press("tab")
        await typed(pilot, "secret124")
        await pilot.press("ctrl+n")
        assert "the two entries differ" in await shown(pilot, app)
        current(app).query_one("#ssh_keys", TextArea).text = "not-a-key"
        await pilot.press("ctrl+n")
        assert "SSH key 1: expected 'TYPE BASE64 [comment]'" in await shown(pilot, app)
        current(app).query_one("#ssh_keys", TextArea).text = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA me@host"
        current(app).query_one("#confirm", Input).value = "secret123"
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, ReviewScreen)
        hashed = app.choices.password_hash
        assert hashed is not None and hashed.startswith("$y$")  # yescrypt, as passwd makes it
        assert verify("secret123", hashed)


async def test_happy_path_through_review_and_a_fake_install_to_done() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, app)
        text = await shown(pilot, app)
        assert "! Confirming ERASES /dev/vda." in text and "Erase /dev/vda and install" in text
        assert app.focused is current(app).query_one("#cancel", Button)
        await pilot.press("ctrl+n")
        assert "Tab to the Erase button" in await shown(pilot, app)
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("tab", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, DoneScreen)
        assert "[+] Azure Linux is installed" in await shown(pilot, app)
        api = app.api
        assert isinstance(api, DryRunAPI) and len(api.installed) == 1
        profile = api.installed[0]
        assert profile.storage.disks == (DiskMatch(path="/dev/vda", serial="OS-DISK-0001"),)
        assert profile.payload.environment == "azure-server" and profile.users[0].name == "azureuser"
        await pilot.press("tab", "enter")  # Reboot
    assert app.return_value == ("reboot", 0)


async def test_review_cancel_goes_back_and_blockers_disable_confirm() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, app)
        await pilot.press("enter")  # Cancel
        assert isinstance(app.screen, UsersScreen)
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, EncryptionScreen)
        await pilot.press("space", "tab")
        await typed(pilot, "longpassphrase")
        await pilot.press("tab")
        await typed(pilot, "longpassphrase")
        await pilot.press("ctrl+n")
        await pilot.press("ctrl+n")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        await app.workers.wait_for_complete()
        text = await shown(pilot, app)
        assert "cannot be installed (1 blocker" in text and "! x encryption: " in text  # the plan's own reason
        assert current(app).query_one("#confirm", Button).disabled


async def test_progress_shows_steps_and_a_failure_names_step_and_log() -> None:
    gate = threading.Event()
    app = make_app(fail_step="payload", gate=gate)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, app)
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ProgressScreen)
        text = await shown(pilot, app)
        assert "[ ] Partition and format disks" in text and "Overall  [" in text
        await pilot.press("escape")
        assert isinstance(app.screen, ProgressScreen)
        await pilot.press("ctrl+q")
        assert "An install is running" in await shown(pilot, app)
        await pilot.press("enter")  # Stay
        gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ProgressScreen)  # a failure stays: the log and a log bundle are here
        text = await shown(pilot, app)
        assert "[!] Install software" in text and "Save log bundle" in text
        assert "! step 'payload' failed: dnf could not find package nope" in text
        assert "! full log: /var/log/azl-installer/install-test.log" in text
        await pilot.press("enter")  # Continue has the focus
        await pilot.pause()
        assert isinstance(app.screen, DoneScreen)
        text = await shown(pilot, app)
        assert "step 'payload' failed: dnf could not find package nope" in text
        assert "/var/log/azl-installer/install-test.log" in text


def no_install() -> None:
    """Stands in for the install worker: the test feeds events itself."""


async def test_progress_screen_states_by_glyph() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, app)
        plan = app.screen.plan  # type: ignore[attr-defined]
        screen = ProgressScreen(plan)
        screen.run_install = no_install  # type: ignore[method-assign,assignment]
        await app.push_screen(screen)
        screen.on_progress_screen_engine_event(ProgressScreen.EngineEvent(Event("step-started", "s", step="storage")))
        screen.on_progress_screen_engine_event(ProgressScreen.EngineEvent(Event("step-finished", "s", step="storage")))
        screen.on_progress_screen_engine_event(ProgressScreen.EngineEvent(Event("step-started", "m", step="mount")))
        screen.on_progress_screen_engine_event(
            ProgressScreen.EngineEvent(Event("step-progress", "half", step="mount", fraction=0.5)))
        text = await shown(pilot, app)
        assert "[+] Partition and format disks" in text and "[>] Mount the target" in text
        assert "[ ] Install software" in text and " 50% mount" in text


async def test_quit_asks_first_and_stay_keeps_the_screen() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_disks(pilot, app)
        await pilot.press("ctrl+c")
        assert isinstance(app.screen, QuitScreen)
        assert "Nothing has been written" in await shown(pilot, app)
        await pilot.press("enter")  # focus starts on Stay
        assert isinstance(app.screen, DisksScreen)
        await pilot.press("ctrl+q", "tab", "enter")
    assert app.return_value == ("exit", 2)


async def test_prefilled_from_a_profile() -> None:
    profile = Profile(
        storage=Storage(disks=(DiskMatch(serial="OS-DISK-0001"),), leave_alone=(DiskMatch(serial="DATA-KEEP-0001"),),
                        auto=AutoLayout(filesystem="ext4", boot="bios")),
        payload=Payload(environment="azure-server", packages=("vim-minimal",)),
        system=System(hostname="web-01", timezone="Europe/Berlin"),
        users=(User(name="ops", password_hash="$6$x$y", groups=("wheel",)),),
    )
    app = make_app(choices=Choices.from_profile(profile))
    async with app.run_test(size=SIZE) as pilot:
        assert "< Europe/Berlin >" in await shown(pilot, app)
        await to_disks(pilot, app)
        text = await shown(pilot, app)
        assert "[E] /dev/vda" in text and "[K] /dev/vdb" in text and "(*) ext4" in text and "(*) bios" in text
        await pilot.press("ctrl+n", "ctrl+n", "ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, UsersScreen)
        await pilot.press("ctrl+n")  # the profile's hash is kept
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        built = app.choices.to_profile(app.api.probe())
        assert built.users[0].password_hash == "$6$x$y" and built.system.hostname == "web-01"
        assert built.storage.leave_alone == (DiskMatch(path="/dev/vdb", serial="DATA-KEEP-0001"),)


async def test_confirm_button_grows_with_a_plan_that_arrives_after_layout() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, app)
        await app.workers.wait_for_complete()
        review = current(app)
        assert isinstance(review, ReviewScreen)
        confirm = review.query_one("#confirm", Button)
        confirm.label = "Erase and install"  # as composed, before the plan (slow probing on a real ISO)
        confirm.refresh(layout=True)
        await pilot.pause()
        review.plan = None
        review.inventory_changed()  # planned again in a worker: the label changes after layout
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert str(confirm.label) == "Erase /dev/vda and install"
        assert confirm.size.width >= len(str(confirm.label)) + 2  # the whole label shows, with its padding
