"""Users: host name, the administrator (in wheel) with a password hashed at once, and an SSH key."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Input

from ui.screens.base import StepScreen
from ui.widgets import Plain, SecretInput


class UsersScreen(StepScreen):
    AUTO_FOCUS = "#hostname"  # set before the first key is read, unlike focus() in on_mount
    STEP = "Users"

    def body(self) -> ComposeResult:
        c = self.installer.choices
        yield Plain("Host name", classes="label")
        yield Input(c.hostname, id="hostname")
        yield Plain("Admin user", classes="label")
        yield Input(c.username, id="username")
        yield Plain("Password", classes="label")
        yield SecretInput(placeholder="kept from the profile" if c.password_hash else "at least 8 characters",
                          id="password")
        yield Plain("Again", classes="label")
        yield SecretInput(id="confirm")
        yield Plain("SSH public key", classes="label")
        yield Input(c.ssh_key, placeholder="ssh-ed25519 AAAA... (optional with a password)", id="ssh_key")
        yield Plain("The user joins wheel (sudo); root stays locked. The password is hashed (SHA-512 "
                     "crypt) as soon as you go on; the clear text is not kept. cloud-init user-data: "
                     "not applied by this version, so it is not asked here.", classes="note")

    def validate(self) -> list[str]:
        c = self.installer.choices
        c.hostname = self.query_one("#hostname", Input).value
        c.username = self.query_one("#username", Input).value
        c.ssh_key = self.query_one("#ssh_key", Input).value
        password = self.query_one("#password", Input)
        confirm = self.query_one("#confirm", Input)
        errors = c.check_users(password.value, confirm.value)
        if not errors:
            c.set_password(password.value)
            password.value = confirm.value = ""
            if c.password_hash:
                password.placeholder = "hashed; type again to change"
        return errors
