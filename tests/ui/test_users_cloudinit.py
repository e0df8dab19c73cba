"""Users (several, with SSH keys and admin flag) and the cloud-init user-data editor, at 80x24 and in line mode."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from installer.core.passwords import verify
from profiles.model import CloudInit, Profile, Storage, User
from tests.support.ui import (
    SIZE,
    TO_USERS,
    Compare,
    current,
    dry_run,
    make_app,
    run,
    screen_text,
    shown,
    to_users,
    walk,
)
from ui.accounts import UserChoice, ssh_key_problem, user_problems
from ui.app import InstallerApp
from ui.choices import Choices
from ui.screens.review import ReviewScreen
from ui.screens.userdata import UserDataScreen
from ui.screens.users import UsersScreen


def key(kind: str = "ssh-ed25519", inner: str | None = None, comment: str = "me@host") -> str:
    """A public key line whose blob names inner (default: kind) as its type, as ssh-keygen writes it."""
    name = (inner or kind).encode()
    blob = len(name).to_bytes(4, "big") + name + (32).to_bytes(4, "big") + bytes(range(32))
    return f"{kind} {base64.b64encode(blob).decode()} {comment}"


ED1, ED2 = key(comment="alice@laptop"), key(comment="alice@desk")


@pytest.mark.parametrize(("line", "problem"), [
    ("not-a-key", "expected 'TYPE BASE64 [comment]'"),
    ("ssh-foo AAAA", "unknown key type 'ssh-foo'"),
    ("ssh-ed25519 AAAA*not-base64", "the key data is not valid base64"),
    (key("ssh-rsa", inner="ssh-ed25519"), "the key data does not hold a ssh-rsa key"),
    ("ssh-ed25519 AAAA", "the key data does not hold a ssh-ed25519 key"),
])
def test_ssh_key_problems(line: str, problem: str) -> None:
    found = ssh_key_problem(line)
    assert found is not None and problem in found
    assert ssh_key_problem(ED1) is None and ssh_key_problem(key("ecdsa-sha2-nistp256")) is None


def test_user_problems_name_each_mistake() -> None:
    assert user_problems(UserChoice("ok", ssh_keys=[ED1])) == []
    errors = user_problems(UserChoice("Bad Name"), "short", "short", who="user 2")
    assert errors == ["user 2: user name: lower case letters, digits, _ and -, starting with a letter, at most 32",
                      "user 2: password: at least 8 characters"]
    assert user_problems(UserChoice("bin"), "secret123", "secret124")[1] == "password: the two entries differ"


async def fill_form(pilot: Pilot[Any], app: InstallerApp, **values: str) -> None:
    for name, value in values.items():
        widget = current(app).query_one(f"#{name}")
        if isinstance(widget, TextArea):
            widget.text = value
        else:
            assert isinstance(widget, Input)
            widget.value = value
    await pilot.pause()


async def test_several_users_with_keys_admin_flag_and_hashing_at_once() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_users(pilot, app)
        await fill_form(pilot, app, hostname="web-01", password="secret123", confirm="secret123",
                        ssh_keys=f"{ED1}\n\n{ED2}\n")
        current(app).query_one("#users").focus()
        await pilot.press("a")  # hashes the first user's password, opens a new user
        text = await shown(pilot, app)
        assert "User 2 of 2" in text and "azureuser: admin (wheel), password, 2 SSH keys" in text
        first = app.choices.users[0].password_hash
        assert first is not None and verify("secret123", first)
        assert app.focused is current(app).query_one("#username")
        await fill_form(pilot, app, username="bob", password="short", confirm="short")
        await pilot.press("ctrl+n")
        text = await shown(pilot, app)
        assert "! bob: password: at least 8 characters" in text
        await fill_form(pilot, app, password="", confirm="", ssh_keys="ssh-ed25519 AAAA")
        await pilot.press("ctrl+n")
        assert "! bob: SSH key 1: the key data does not hold a ssh-ed25519 key" in await shown(pilot, app)
        await fill_form(pilot, app, username="azureuser", ssh_keys=ED2)
        await pilot.press("ctrl+n")
        assert "! user name 'azureuser' is used twice" in await shown(pilot, app)
        await fill_form(pilot, app, username="bob")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        built = app.choices.to_profile(app.api.probe())
        assert [(u.name, u.groups, len(u.ssh_keys)) for u in built.users] == [
            ("azureuser", ("wheel",), 2), ("bob", (), 1)]
        assert built.users[1].password_hash is None and built.system.hostname == "web-01"
        assert built.cloud_init is None  # no user-data typed: no section


async def test_switching_and_removing_users() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_users(pilot, app)
        current(app).query_one("#users").focus()
        await pilot.press("d")
        assert "! keep at least one user" in await shown(pilot, app)
        await pilot.press("a")
        await fill_form(pilot, app, username="carol", password="secret123", confirm="secret124")
        current(app).query_one("#users").focus()
        await pilot.press("up", "enter")  # back to user 1: refused while the passwords differ
        text = await shown(pilot, app)
        assert "! password: the two entries differ" in text and "User 2 of 2" in text
        await fill_form(pilot, app, confirm="secret123")
        current(app).query_one("#users").focus()
        await pilot.press("up", "enter")
        text = await shown(pilot, app)
        assert "User 1 of 2" in text and "carol: not admin, password, 0 SSH keys" in text
        assert current(app).query_one("#username", Input).value == "azureuser"
        await pilot.press("down", "enter", "d")  # open carol, remove her
        text = await shown(pilot, app)
        assert "carol" not in text and "User 1 of 1" in text


async def test_admin_flag_off_removes_wheel_but_keeps_the_profile_user_fields() -> None:
    base = Profile(storage=Storage(disks=()), users=(User(name="ops", groups=("wheel", "docker"), uid=1500,
                                                          password_hash="$6$x$y"),))
    app = make_app(choices=Choices.from_profile(base))
    async with app.run_test(size=SIZE) as pilot:
        await to_users(pilot, app)
        assert "hashed; type to change" in await shown(pilot, app)
        current(app).query_one("#admin").focus()
        await pilot.press("space")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        user = app.choices.to_profile(app.api.probe()).users[0]
        assert (user.groups, user.uid, user.password_hash) == (("docker",), 1500, "$6$x$y")


@pytest.mark.parametrize(("text", "message"), [
    ("packages: [tmux]\n", "user-data must start with a '#cloud-config' line or be a MIME multipart"),
    ("#cloud-config\npackages: [tmux\n", "user-data line 3: not valid YAML"),
    ("#cloud-config\npakages: [tmux]\n", "user-data line 2: unknown cloud-config key 'pakages' (did you mean"),
    ("#cloud-config\nruncmd: echo hi\n", "user-data line 2: 'runcmd' must be a list"),
    ("#cloud-config\n- a\n", "user-data line 2: cloud-config must be a mapping of module keys"),
    ("Content-Type: multipart/mixed; boundary=\"B\"\n\nno parts\n", "the MIME"),
])
async def test_user_data_editor_shows_the_engine_checks_by_line(text: str, message: str) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_users(pilot, app)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, UserDataScreen)
        assert app.focused is current(app).query_one("#user_data")
        await fill_form(pilot, app, user_data=text)
        assert message in " ".join((await shown(pilot, app)).split())
        await pilot.press("escape")  # kept, but the Users screen will not go on
        await pilot.pause()
        assert isinstance(app.screen, UsersScreen)
        assert "1 problem" in await shown(pilot, app) or "problems" in screen_of(app)
        await fill_form(pilot, app, password="secret123", confirm="secret123")
        await pilot.press("ctrl+n")
        assert "! cloud-init user-data has" in await shown(pilot, app)
        assert isinstance(app.screen, UsersScreen)


def screen_of(app: InstallerApp) -> str:
    return screen_text(app)


async def test_user_data_example_clear_and_into_the_profile() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_users(pilot, app)
        await fill_form(pilot, app, password="secret123", confirm="secret123")
        await pilot.press("ctrl+o")
        await pilot.press("tab", "tab", "enter")  # Insert example
        text = await shown(pilot, app)
        assert "#cloud-config" in text and "! " not in text.split("Clear")[-1]
        await pilot.press("ctrl+n")  # done
        await pilot.pause()
        assert isinstance(app.screen, UsersScreen)
        assert "cloud-init user-data: 5 lines, checked, fine" in await shown(pilot, app)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        built = app.choices.to_profile(app.api.probe())
        assert built.cloud_init is not None and built.cloud_init.user_data == app.choices.user_data
        assert built.cloud_init.user_data.startswith("#cloud-config\npackages:")
        app.choices.user_data = "  \n"
        assert app.choices.to_profile(app.api.probe()).cloud_init is None


def test_emptied_user_data_keeps_the_rest_of_the_profile_section() -> None:
    base = Profile(storage=Storage(disks=()), cloud_init=CloudInit(user_data="#cloud-config\n", instance_id="i-1"))
    choices = Choices.from_profile(base)
    assert choices.user_data == "#cloud-config\n"
    choices.user_data = ""
    assert choices.cloud_init_section(base) == CloudInit(instance_id="i-1")
    file_based = Profile(storage=Storage(disks=()), cloud_init=CloudInit(user_data_file="ud.yaml"))
    assert Choices.from_profile(file_based).cloud_init_section(file_based) == file_based.cloud_init


def test_snapshot_users_several(snap_compare: Compare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await walk(*TO_USERS)(pilot)
        app = pilot.app
        assert isinstance(app, InstallerApp)
        app.screen.query_one("#ssh_keys", TextArea).text = ED1
        app.screen.query_one("#users").focus()
        await walk("a", "ctrl+n")(pilot)

    assert snap_compare(make_app(), run_before=run_before)


def test_snapshot_user_data_with_an_error(snap_compare: Compare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await walk(*TO_USERS, "ctrl+o")(pilot)
        pilot.app.screen.query_one("#user_data", TextArea).text = "#cloud-config\npakages:\n  - tmux\n"
        await pilot.pause()

    assert snap_compare(make_app(), run_before=run_before)


# -- line mode -----------------------------------------------------------------------------
START = ["", "", "", "1", "", "", "", "", "", "", "1", "", ""]  # welcome, disks (automatic), encryption, software


def test_line_mode_several_users_keys_and_user_data() -> None:
    answers = [*START,
               "web-01", "", "secret123", "secret123", "", ED1, "not-a-key", ED2, "",  # first user, a bad key
               "2", "bob", "short", "short", "", "",  # add bob: too short a password, asked again
               "", "secret123", "secret123", "n", "",
               "3", "9", "4", "1",  # change: a bad number; remove user 1 (azureuser)
               "2", "carol", "", "y", ED1, "",  # add carol: admin, key only
               "",  # done
               "2", "#cloud-config", "pakages:", "  - tmux", ".",  # user-data with a misspelt key
               "2", "#cloud-config", "packages:", "  - tmux", ".",
               "yes"]
    code, out, engine = run(answers)
    assert code == 0, out
    assert "! SSH key: expected 'TYPE BASE64 [comment]'" in out
    assert "! password: at least 8 characters" in out and "! type a number from 1 to 2" in out
    assert "! user-data line 2: unknown cloud-config key 'pakages'" in out
    profile = engine.installed[0]
    assert [(u.name, u.groups, len(u.ssh_keys)) for u in profile.users] == [("bob", (), 0), ("carol", ("wheel",), 1)]
    assert profile.cloud_init is not None and profile.cloud_init.user_data == "#cloud-config\npackages:\n  - tmux\n"
    assert "secret123" not in out


def test_line_mode_user_data_can_be_left_out() -> None:
    answers = [*START, "web-01", "", "secret123", "secret123", "", "", "", "1", "yes"]
    code, out, engine = run(answers, dry_run())
    assert code == 0, out
    assert engine.installed[0].cloud_init is None
