"""Encryption: off, passphrase or Azure Key Vault. Validated, but not applied by this version."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Input

from ui.choices import ENCRYPTION_MODES
from ui.screens.base import StepScreen
from ui.widgets import Choice, Plain, SecretInput

NOT_APPLIED = ("! Not applied by this version: the engine cannot encrypt disks yet. If you choose "
               "encryption, the Review screen lists it as a blocker and the install is refused; "
               "an unencrypted install is never made silently.")


class EncryptionScreen(StepScreen):
    AUTO_FOCUS = "#mode"  # set before the first key is read, unlike focus() in on_mount
    STEP = "Encryption"

    def body(self) -> ComposeResult:
        c = self.installer.choices
        yield Choice("Encryption", ENCRYPTION_MODES, c.encryption, id="mode")
        yield Plain(NOT_APPLIED, classes="warning")
        yield Plain("Passphrase", classes="label passphrase")
        yield SecretInput(placeholder="at least 8 characters", id="passphrase")
        yield Plain("Again", classes="label passphrase")
        yield SecretInput(placeholder="the same passphrase", id="confirm")
        yield Plain("Vault URL", classes="label vault")
        yield Input(c.vault_url, placeholder="https://NAME.vault.azure.net", id="vault_url")
        yield Plain("Key/secret name", classes="label vault")
        yield Input(c.key_name, placeholder="name in the vault", id="key_name")
        yield Plain("Identity: the VM's managed identity (service principals and a connection test "
                     "come with the encryption issue).", classes="note vault")

    def on_mount(self) -> None:
        if self.installer.choices.passphrase:
            self.query_one("#passphrase", Input).value = self.installer.choices.passphrase
            self.query_one("#confirm", Input).value = self.installer.choices.passphrase
        self.show_fields()

    def show_fields(self) -> None:
        mode = self.installer.choices.encryption
        for node in self.query(".passphrase, #passphrase, #confirm"):
            node.display = mode == "passphrase"
        for node in self.query(".vault, #vault_url, #key_name"):
            node.display = mode.startswith("keyvault")

    def on_choice_changed(self, event: Choice.Changed) -> None:
        self.installer.choices.encryption = event.value
        self.show_fields()

    def validate(self) -> list[str]:
        c = self.installer.choices
        c.passphrase = self.query_one("#passphrase", Input).value if c.encryption == "passphrase" else ""
        c.vault_url = self.query_one("#vault_url", Input).value
        c.key_name = self.query_one("#key_name", Input).value
        return c.check_encryption(self.query_one("#confirm", Input).value)
