"""Users: host name, and any number of users, each with a password (hashed at once), SSH keys, admin.

The form edits one user at a time; the list below picks which (Space or Enter), a adds and
d removes. A typed password is hashed as soon as the form moves to another user or the
screen goes on; the clear text is not kept. cloud-init user-data has its own editor (u).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Input, Static, TextArea

from ui import glyphs
from ui.accounts import UserChoice, password_problems
from ui.screens.base import StepScreen
from ui.screens.userdata import UserDataScreen, status
from ui.widgets import Choice, MarkList, Plain, SecretInput


class UserList(MarkList):
    """The users; Space or Enter opens the highlighted one in the form."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "screen.add_user", "Add user", key_display="a"),
        Binding("d,delete", "screen.remove_user", "Remove user", key_display="d"),
    ]


class UsersScreen(StepScreen):
    AUTO_FOCUS = "#hostname"  # set before the first key is read, unlike focus() in on_mount
    STEP = "Users"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+o", "user_data", "cloud-init", key_display="ctrl+o"),
    ]
    DEFAULT_CSS = """
    UsersScreen .form-row { height: 1; }
    UsersScreen .form-label { width: 16; color: ansi_cyan; }
    UsersScreen .form-row > Input { width: 1fr; }
    UsersScreen #again { width: 8; color: ansi_cyan; }
    UsersScreen #ssh_keys { height: 3; border: none; padding: 0; background: ansi_bright_black; }
    UsersScreen #ssh_keys:focus { background: ansi_white; color: ansi_black; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.current = 0

    def body(self) -> ComposeResult:
        c = self.installer.choices
        user = c.users[0] if c.users else UserChoice()
        with Horizontal(classes="form-row"):
            yield Plain("Host name", classes="form-label")
            yield Input(c.hostname, id="hostname")
        yield Plain("", id="which", classes="note")
        with Horizontal(classes="form-row"):
            yield Plain("User name", classes="form-label")
            yield Input(user.name, id="username")
        with Horizontal(classes="form-row"):
            yield Plain("Password", classes="form-label")
            yield SecretInput(id="password")
            yield Plain("  Again", id="again")
            yield SecretInput(id="confirm")
        yield Choice("Admin (wheel)", ("yes", "no"), "yes" if user.admin else "no", id="admin")
        yield Plain("SSH public keys, one per line (ssh-ed25519 AAAA... comment):", classes="label")
        yield TextArea("\n".join(user.ssh_keys), id="ssh_keys", soft_wrap=False, tab_behavior="focus")
        yield UserList(self.user_rows, id="users")
        with Horizontal(classes="buttons"):
            yield Button("Add user", id="add")
            yield Button("Remove user", id="remove")
            yield Button("cloud-init user-data", id="user_data")
        yield Plain("", id="userdata-status", classes="note")
        yield Plain("In the list: a adds, d removes, Space edits a user. Passwords are hashed (SHA-512 crypt) "
                    "at once; root stays locked.", classes="note")

    def on_mount(self) -> None:
        self.load(0)

    def on_screen_resume(self) -> None:
        self.refresh_status()

    # -- the form <-> Choices --------------------------------------------------------------
    def user_rows(self) -> list[str]:
        return [f"{glyphs.SELECTED if i == self.current else glyphs.UNSELECTED} {u.summary()}"
                for i, u in enumerate(self.installer.choices.users)] or ["(no users: press a to add one)"]

    def load(self, index: int) -> None:
        users = self.installer.choices.users
        self.current = max(0, min(index, len(users) - 1))
        user = users[self.current] if users else UserChoice()
        self.query_one("#username", Input).value = user.name
        for widget_id in ("#password", "#confirm"):
            secret = self.query_one(widget_id, Input)
            secret.value = ""
        self.query_one("#password", Input).placeholder = (
            "hashed; type to change" if user.password_hash else "at least 8 characters")
        self.query_one("#admin", Choice).set_value("yes" if user.admin else "no")
        self.query_one("#ssh_keys", TextArea).text = "\n".join(user.ssh_keys)
        self.query_one("#which", Static).update(
            f"User {self.current + 1} of {len(users)} (the list below picks which user this form edits):")
        self.query_one("#users", UserList).rebuild()
        self.refresh_status()

    def save_form(self) -> list[str]:
        """Copy the form into the current user; hash a typed password if it is fine, else say why."""
        c = self.installer.choices
        c.hostname = self.query_one("#hostname", Input).value
        if not c.users:
            return []
        user = c.users[self.current]
        user.name = self.query_one("#username", Input).value.strip()
        user.admin = self.query_one("#admin", Choice).value == "yes"
        user.ssh_keys = [k.strip() for k in self.query_one("#ssh_keys", TextArea).text.splitlines() if k.strip()]
        password, confirm = self.query_one("#password", Input), self.query_one("#confirm", Input)
        errors = password_problems(password.value, confirm.value)
        if not errors and password.value:
            c.set_password(password.value, self.current)
            password.value = confirm.value = ""
            password.placeholder = "hashed; type to change"
        self.query_one("#users", UserList).rebuild()
        return errors

    def refresh_status(self) -> None:
        c = self.installer.choices
        self.query_one("#userdata-status", Static).update(status(c.user_data, c.check_cloud_init()))

    # -- actions ---------------------------------------------------------------------------
    def switch_to(self, index: int) -> None:
        errors = self.save_form()
        self.show_errors(errors)
        if not errors:
            self.load(index)

    def on_mark_list_toggled(self, event: MarkList.Toggled) -> None:
        self.switch_to(event.index)

    def action_add_user(self) -> None:
        errors = self.save_form()
        self.show_errors(errors)
        if errors:
            return
        users = self.installer.choices.users
        users.append(UserChoice(admin=False))
        self.load(len(users) - 1)
        self.query_one("#username", Input).focus()

    def action_remove_user(self) -> None:
        users = self.installer.choices.users
        if len(users) <= 1:
            self.show_errors(["keep at least one user: root stays locked, so nobody could log in"])
            return
        del users[self.current]
        self.show_errors([])
        self.load(self.current)

    def action_user_data(self) -> None:
        self.save_form()
        self.app.push_screen(UserDataScreen())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"add": self.action_add_user, "remove": self.action_remove_user,
         "user_data": self.action_user_data}[event.button.id or ""]()

    def validate(self) -> list[str]:
        c = self.installer.choices
        password, confirm = self.query_one("#password", Input), self.query_one("#confirm", Input)
        typed = (password.value, confirm.value)
        errors = self.save_form()
        # save_form hashed a fine password already; check the rest with what is still typed (if wrong).
        errors = c.check_users(*typed, current=self.current) if errors else c.check_users(current=self.current)
        cloud = c.check_cloud_init()
        if cloud:
            errors.append(f"cloud-init user-data has {len(cloud)} problem{'s' if len(cloud) != 1 else ''} "
                          f"(ctrl+o to fix): {cloud[0]}")
        return errors
