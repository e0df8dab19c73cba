"""Encryption: off, passphrase or Azure Key Vault (managed identity or service principal), with a live test.

"Test connection" signs in and uses the key or secret with the real client in a worker thread
(installer.api's test_vault). The line saying what cannot be done here is the engine's own plan
blocker for the section (no device-mapper on this kernel, an unlock method not built yet), so both
always agree.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from installer.api import CheckResult
from profiles.model import Encryption
from ui.choices import ENCRYPTION_MODES, IDENTITIES, Choices, any_vault_host, not_applied
from ui.screens.base import StepScreen
from ui.widgets import Choice, Plain, SecretInput

# The text fields of the screen and the Choices attribute each one edits.
TEXT_FIELDS = ("vault_url", "key_name", "tenant_id", "client_id", "client_secret", "certificate_path")


class EncryptionScreen(StepScreen):
    AUTO_FOCUS = "#mode"  # set before the first key is read, unlike focus() in on_mount
    STEP = "Encryption"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+t", "test_connection", "Test connection", key_display="ctrl+t"),
    ]

    class Tested(Message):
        def __init__(self, serial: int, result: CheckResult) -> None:
            super().__init__()
            self.serial = serial
            self.result = result

    def __init__(self) -> None:
        super().__init__()
        self.tests = 0  # a result from an earlier test (the user changed fields meanwhile) is ignored
        self.testing = False

    @staticmethod
    def row(label: str, widget: Widget, classes: str) -> Horizontal:
        return Horizontal(Plain(label, classes="label"), widget, classes=f"field {classes}")

    def body(self) -> ComposeResult:
        c = self.installer.choices
        with VerticalScroll(id="encryption-form"):
            yield Choice("Encryption", ENCRYPTION_MODES, c.encryption, id="mode")
            yield self.row("Passphrase", SecretInput(placeholder="at least 8 characters", id="passphrase"),
                           "passphrase")
            yield self.row("Again", SecretInput(placeholder="the same passphrase", id="confirm"), "passphrase")
            yield self.row("Vault URL", Input(c.vault_url, placeholder="https://NAME.vault.azure.net",
                                              id="vault_url"), "vault")
            yield self.row("Key/secret name", Input(c.key_name, placeholder="name in the vault", id="key_name"),
                           "vault")
            yield Choice("Identity", IDENTITIES, c.identity, id="identity")
            yield self.row("Tenant id", Input(c.tenant_id, placeholder="Entra ID tenant (directory) id",
                                              id="tenant_id"), "sp")
            yield self.row("Client id", Input(c.client_id, placeholder="optional: a user-assigned identity",
                                              id="client_id"), "vault")
            yield self.row("Client secret", SecretInput(placeholder="the secret, or leave empty",
                                                        id="client_secret"), "sp")
            yield self.row("or certificate", Input(c.certificate_path, placeholder="PEM file with the private key",
                                                   id="certificate_path"), "sp")
            with Horizontal(classes="buttons vault"):
                yield Button("Test connection", id="test")
            yield Plain("", id="vault-status", classes="status vault")
            yield Plain("", id="not-applied", classes="warning")

    def on_mount(self) -> None:
        c = self.installer.choices
        if c.passphrase:
            self.query_one("#passphrase", Input).value = c.passphrase
            self.query_one("#confirm", Input).value = c.passphrase
        self.query_one("#client_secret", Input).value = c.client_secret
        self.show_fields()

    def show_fields(self) -> None:
        c = self.installer.choices
        vault = c.encryption.startswith("keyvault")
        sp = vault and c.identity == "service-principal"
        for node in self.query(".passphrase"):
            node.display = c.encryption == "passphrase"
        for node in self.query(".vault"):
            node.display = vault
        self.query_one("#identity", Choice).display = vault
        for node in self.query(".sp"):
            node.display = sp
        self.query_one("#client_id", Input).placeholder = ("application (client) id" if sp
                                                           else "optional: a user-assigned identity")
        self.query_one("#not-applied", Static).update(not_applied(self.installer.api, c.encryption_section()) or "")

    def on_choice_changed(self, event: Choice.Changed) -> None:
        c = self.installer.choices
        if event.choice.id == "mode":
            c.encryption = event.value
        elif event.choice.id == "identity":
            c.identity = event.value
        self.query_one("#vault-status", Static).update("")
        self.show_fields()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in TEXT_FIELDS and not self.testing:
            self.query_one("#vault-status", Static).update("")  # the last result no longer describes the fields

    def collect(self) -> Choices:
        c = self.installer.choices
        c.passphrase = self.query_one("#passphrase", Input).value if c.encryption == "passphrase" else ""
        for name in TEXT_FIELDS:
            setattr(c, name, self.query_one(f"#{name}", Input).value)
        return c

    def validate(self) -> list[str]:
        c = self.collect()
        return c.check_encryption(self.query_one("#confirm", Input).value,
                                  any_vault_host=any_vault_host(self.installer.api, c))

    # -- test connection -------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "test":
            self.action_test_connection()

    def action_test_connection(self) -> None:
        c = self.collect()
        status = self.query_one("#vault-status", Static)
        if not c.encryption.startswith("keyvault"):
            self.show_errors(["the connection test is for keyvault-secret and keyvault-key"])
            return
        errors = c.check_encryption(any_vault_host=any_vault_host(self.installer.api, c))
        self.show_errors(errors)
        if errors:
            status.update("")
            return
        encryption = c.encryption_section()
        assert encryption is not None
        self.tests += 1
        self.testing = True
        status.update(f"... testing the connection to {encryption.vault_url}")
        self.run_test(self.tests, encryption)

    @work(thread=True, group="vault-test")
    def run_test(self, serial: int, encryption: Encryption) -> None:
        def progress(text: str) -> None:
            self.app.call_from_thread(self.show_progress, serial, text)

        # The Azure SDK loads now, in this worker, only because a test was asked for.
        self.post_message(self.Tested(serial, self.installer.api.test_vault(encryption, progress)))

    def show_progress(self, serial: int, text: str) -> None:
        if serial == self.tests:
            self.query_one("#vault-status", Static).update(f"... {text}")

    def on_encryption_screen_tested(self, message: Tested) -> None:
        if message.serial != self.tests:
            return
        self.testing = False
        mark = "[+]" if message.result.ok else "[!]"
        self.query_one("#vault-status", Static).update(f"{mark} {message.result.line}")
