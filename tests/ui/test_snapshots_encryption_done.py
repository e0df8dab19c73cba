"""Snapshots (80x24) of the Key Vault form and the Done screen with its save rows."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from profiles.model import AutoLayout, DiskMatch, Encryption, Payload, Profile, Storage, VaultIdentity
from tests.support.ui import PW, TO_ENCRYPTION, TO_REVIEW, Compare, make_app, walk
from ui.choices import Choices


def vault_profile() -> Profile:
    ident = VaultIdentity(kind="service-principal", tenant_id="72f988bf-0000-4000-8000-00000000cafe",
                          client_id="0000aaaa-sp-secret", client_secret="never-drawn-secret")
    enc = Encryption(enabled=True, key_source="keyvault-key", vault_url="https://my-vault.vault.azure.net",
                     key_name="disk-kek", identity=ident)
    return Profile(storage=Storage(disks=(DiskMatch(path="/dev/vda"),), auto=AutoLayout()),
                   payload=Payload(packages=("bash",)), encryption=enc)


def test_encryption_key_vault_service_principal(snap_compare: Compare) -> None:
    app = make_app(choices=Choices.from_profile(vault_profile()))
    assert snap_compare(app, run_before=walk("ctrl+n", "ctrl+n", "tab"))


def test_encryption_key_vault_errors(snap_compare: Compare) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await walk(*TO_ENCRYPTION, "space", "space")(pilot)  # keyvault-secret, fields empty
        await walk("ctrl+n")(pilot)

    assert snap_compare(make_app(), run_before=run)


def test_done(snap_compare: Compare) -> None:
    assert snap_compare(make_app(), run_before=walk(*TO_REVIEW, "tab", "enter", values=PW))
