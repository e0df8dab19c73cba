"""interactive_sections in the Textual UI and the line mode; saving the profile and a log bundle (80x24)."""

from __future__ import annotations

import io
import tarfile
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Static

from installer.api import Plan
from installer.dryrun import DryRunAPI
from profiles import profile_from_text
from profiles.model import Profile
from tests.support.ui import HeldDryRun, dry_run, machine, make_app, screen_text
from ui.app import InstallerApp
from ui.choices import Choices
from ui.glyphs import unsafe
from ui.save_files import SaveRow
from ui.screens.disks import DisksScreen
from ui.screens.done import DoneScreen
from ui.screens.encryption import EncryptionScreen
from ui.screens.progress import ProgressScreen
from ui.screens.review import ReviewScreen
from ui.screens.software import SoftwareScreen
from ui.screens.users import UsersScreen
from ui.text_mode import run_text

SIZE = (80, 24)
PROFILE = """\
storage:
  disks: [{path: /dev/vda}]
  leave_alone: [{path: /dev/vdb}]
  auto: {filesystem: ext4}
payload:
  repositories: [{name: main, baseurl: "file:///srv/repo"}]
  packages: [vim-minimal]
system: {hostname: from-profile, timezone: Europe/Berlin}
users: [{name: ops, password_hash: "$6$salt$hash", groups: [wheel]}]
"""
PASSPHRASE = "never-in-a-bundle-4242"


def profile(sections: str = "", extra: str = "") -> Profile:
    text = PROFILE + extra + (f"interactive_sections: [{sections}]\n" if sections else "")
    return profile_from_text(text, "p.yaml")


async def shown(pilot: Pilot[Any], app: InstallerApp) -> str:
    await pilot.pause()
    text = screen_text(app)
    assert not unsafe(text), f"glyphs the console lacks: {unsafe(text)}"
    return text


def review_plan(app: InstallerApp) -> Plan:
    """The plan the Review screen shows (a fresh look at app.screen: mypy narrows it per assert)."""
    screen: Screen[Any] = app.screen
    assert isinstance(screen, ReviewScreen) and screen.plan is not None
    return screen.plan


def current(app: InstallerApp) -> Screen[Any]:
    return app.screen


async def settle(pilot: Pilot[Any], app: InstallerApp) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


# -- interactive_sections ---------------------------------------------------------------------
async def test_only_the_named_sections_are_shown_and_the_rest_is_taken_as_written() -> None:
    app = make_app(choices=Choices.from_profile(profile("encryption, users")))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, EncryptionScreen)  # Welcome and Disks are the profile's
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, UsersScreen)  # Software is the profile's
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, EncryptionScreen)
        await pilot.press("escape")  # nothing before the first shown screen
        await pilot.pause()
        assert isinstance(app.screen, EncryptionScreen)
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press("ctrl+n")
        await settle(pilot, app)
        assert isinstance(app.screen, ReviewScreen)
        text = await shown(pilot, app)
        assert "! Confirming ERASES /dev/vda." in text
        assert app.plan is None
        chosen = review_plan(app).profile
        assert chosen.interactive_sections == ()  # what is saved replays unattended
        assert chosen.system.hostname == "from-profile" and chosen.system.timezone == "Europe/Berlin"
        assert "vim-minimal" in chosen.payload.packages
        assert [d.path for d in chosen.storage.leave_alone] == ["/dev/vdb"]
        assert chosen.storage.auto is not None and chosen.storage.auto.filesystem == "ext4"


async def test_storage_first_then_review() -> None:
    app = make_app(choices=Choices.from_profile(profile("storage")))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, DisksScreen)
        assert "[E]" in await shown(pilot, app)  # prefilled from the profile
        await pilot.press("ctrl+n")
        await settle(pilot, app)
        assert isinstance(app.screen, ReviewScreen)


async def test_star_shows_every_screen() -> None:
    app = make_app(choices=Choices.from_profile(profile('"*"')))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert "Welcome" in (await shown(pilot, app)).splitlines()[0]


async def test_a_section_without_a_screen_goes_straight_to_review_after_probing() -> None:
    app = make_app(choices=Choices.from_profile(profile("cloud_init")))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, ReviewScreen)
        assert "! Confirming ERASES /dev/vda." in await shown(pilot, app)


async def test_review_waits_for_the_probe() -> None:

    release = threading.Event()

    class SlowProbe(HeldDryRun):
        def probe(self) -> Any:
            release.wait(10)
            return super().probe()

    app = InstallerApp(SlowProbe(machine()), Choices.from_profile(profile("software")))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, SoftwareScreen)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        assert "Probing disks in the background; the plan follows" in await shown(pilot, app)
        release.set()
        await settle(pilot, app)
        assert "! Confirming ERASES /dev/vda." in await shown(pilot, app)


def test_line_mode_asks_only_the_named_sections() -> None:
    asked: list[str] = []

    def ask(prompt: str) -> str:
        """Enter keeps every prefilled answer; 'yes' installs."""
        asked.append(prompt)
        assert len(asked) < 50, asked
        return "yes" if "Type 'yes'" in prompt else ""

    api = dry_run()
    out = io.StringIO()
    code = run_text(api, Choices.from_profile(profile("encryption, users")), ask=ask, out=out, secret=ask)
    assert code == 0, out.getvalue()
    assert asked[0] == "Number [Enter keeps off]: " and any(p.startswith("Host name [from-profile]") for p in asked)
    assert not any("Language" in p or "Disk to ERASE" in p or "Repository" in p for p in asked)
    installed = api.installed[0]
    assert installed.interactive_sections == () and installed.system.timezone == "Europe/Berlin"
    assert [d.path for d in installed.storage.disks] == ["/dev/vda"]


# -- saving -------------------------------------------------------------------------------------
# The dry-run keeps its machine's files under tmp_path: the log it writes while installing, and saves.
LOG = Path("/var/log/azl-installer/install-test.log")


def dry_api(app: InstallerApp) -> DryRunAPI:
    assert isinstance(app.api, DryRunAPI)
    return app.api


def plant_secret(app: InstallerApp) -> None:
    """The engine never logs a secret; a bundle must scrub one even if a log held it."""
    with dry_api(app).host_path(LOG).open("a") as log:
        log.write(f"12:00:01 oops the passphrase was {PASSPHRASE}\n")


async def install_to_done(pilot: Pilot[Any], app: InstallerApp) -> None:
    await settle(pilot, app)
    await pilot.press("ctrl+n")  # only Review: the profile leaves cloud_init open, which has no screen yet
    await settle(pilot, app)
    assert isinstance(app.screen, ReviewScreen)
    plan = review_plan(app)
    assert not plan.blockers, plan.blockers
    app.start_install(plan)
    await settle(pilot, app)


def save_row(app: InstallerApp, row: str) -> tuple[SaveRow, Input]:
    widget = current(app).query_one(f"#{row}", SaveRow)
    return widget, widget.query_one(Input)


async def press_save(pilot: Pilot[Any], app: InstallerApp, row: str) -> str:
    """Press the row's button; the row's result line (long paths wrap on the screen)."""
    current(app).query_one(f"#{row}-save").focus()
    await pilot.pause(0.25)  # a Button ignores a second press within its 0.2 s "pressed" look
    await pilot.press("enter")
    text = await shown(pilot, app)
    status = current(app).query_one(f"#{row}", SaveRow).status
    words = status.split()
    assert words[0] in text and words[-1][-10:] in text  # the result is on the screen (a long path wraps)
    return status


async def test_done_says_where_the_profile_is_and_saves_it(tmp_path: Path) -> None:
    app = make_app(choices=Choices.from_profile(profile("cloud_init")), root=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await install_to_done(pilot, app)
        assert isinstance(app.screen, DoneScreen)
        text = await shown(pilot, app)
        assert "/var/log/azl-installer/profile.yaml" in " ".join(text.split())
        row, path = save_row(app, "profile")
        assert path.value == "/var/log/azl-installer/azl-installer-profile-test.yaml"  # beside the log
        text = await press_save(pilot, app, "profile")
        saved = Path(path.value)
        assert f"[+] saved {saved}" in text
        written = dry_api(app).host_path(saved)
        assert written == tmp_path / "var/log/azl-installer/azl-installer-profile-test.yaml"
        replay = profile_from_text(written.read_text(), str(saved))
        assert replay.system.hostname == "from-profile" and replay.interactive_sections == ()
        written.write_text("mine")
        text = await press_save(pilot, app, "profile")
        assert f"! {saved} already exists: press Save profile again to replace it" in text
        assert written.read_text() == "mine"
        assert f"[+] saved {saved}" in await press_save(pilot, app, "profile")
        assert written.read_text() != "mine"


@pytest.mark.parametrize(("typed", "expected"), [
    ("", "! type the path of the file to write"),
    ("relative.yaml", "! relative.yaml: type an absolute path, such as /root/relative.yaml"),
    ("/nonexistent-dir/p.yaml", "! cannot write /nonexistent-dir/p.yaml: the directory /nonexistent-dir does not "
     "exist"),
    ("{tmp}", "! {tmp} is a directory: type a file name"),
])
async def test_save_errors_are_one_line(tmp_path: Path, typed: str, expected: str) -> None:
    app = make_app(choices=Choices.from_profile(profile("cloud_init")), root=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await install_to_done(pilot, app)
        for row in ("profile", "bundle"):
            _, path = save_row(app, row)
            path.value = typed.format(tmp=tmp_path)
            assert expected.format(tmp=tmp_path) in await press_save(pilot, app, row)


async def test_log_bundle_from_done_holds_the_logs_and_never_a_secret(tmp_path: Path) -> None:
    extra = f"encryption: {{enabled: true, passphrase: {PASSPHRASE}}}\n"
    # A machine whose kernel has device-mapper, so the passphrase volume is no blocker and the install runs.
    app = InstallerApp(HeldDryRun(machine(device_mapper=True), root=tmp_path), Choices.from_profile(
        profile("cloud_init", extra)))
    async with app.run_test(size=SIZE) as pilot:
        await install_to_done(pilot, app)
        assert isinstance(app.screen, DoneScreen)
        plant_secret(app)
        _, path = save_row(app, "bundle")
        text = await press_save(pilot, app, "bundle")
        bundle = dry_api(app).host_path(Path(path.value))
        assert bundle.name == "azl-installer-logs-test.tar.gz" and f"[+] saved {path.value}" in text
    raw = bundle.read_bytes()
    with tarfile.open(bundle) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    folder = "azl-installer-logs-test"
    assert set(members) == {f"{folder}/{n}" for n in ("install.log", "events.jsonl", "plan.txt", "profile.yaml")}
    assert b"[storage] started" in members[f"{folder}/install.log"]
    assert b"passphrase: <removed>" in members[f"{folder}/profile.yaml"]
    for data in (raw, *members.values()):
        assert PASSPHRASE.encode() not in data


async def test_a_failed_install_stays_on_progress_with_step_message_log_and_a_bundle(tmp_path: Path) -> None:
    app = make_app(choices=Choices.from_profile(profile("cloud_init")), fail_step="payload", root=tmp_path)
    log = LOG
    async with app.run_test(size=SIZE) as pilot:
        await install_to_done(pilot, app)
        assert isinstance(app.screen, ProgressScreen)
        text = await shown(pilot, app)
        assert "[!] Install software" in text
        assert "! step 'payload' failed: dnf could not find package nope" in text
        errors = str(current(app).query_one("#errors", Static).render())
        assert f"! full log: {log}" in errors and "! full log: " in text
        text = await press_save(pilot, app, "bundle")
        assert "[+] saved /var/log/azl-installer/azl-installer-logs-test.tar.gz" in text
        assert (tmp_path / "var/log/azl-installer/azl-installer-logs-test.tar.gz").is_file()
        await pilot.press("ctrl+q")  # nothing runs any more: quitting asks, but not "an install is running"
        assert "An install is running" not in await shown(pilot, app)
        await pilot.press("enter")  # Stay
        current(app).query_one("#continue").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DoneScreen)
        assert "Save log bundle" in await shown(pilot, app)



def test_the_save_messages_are_in_docs_errors() -> None:
    table = (Path(__file__).parents[2] / "docs" / "errors.md").read_text()
    for message in ("already exists: press Save profile again to replace it", "! type the path of the file to write",
                    "type an absolute path, such as", "is a directory: type a file name", "! cannot write "):
        assert message in table, message
