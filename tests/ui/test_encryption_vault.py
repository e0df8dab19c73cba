"""The Encryption screen at 80x24: Key Vault fields, every validation error, and "Test connection"
through the real Azure SDK against the local HTTPS stand-in (tests/support/keyvault_standin)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from installer.keyvault.client import Retry, VaultSettings
from installer.steps.encryption_keys import refusals
from profiles.model import AutoLayout, DiskMatch, Encryption, Payload, Profile, Storage, VaultIdentity
from tests.support.keyvault_standin import StandIn, make_client_certificate, running_standin
from tests.support.ui import dry_run, make_app, screen_text
from ui.app import InstallerApp
from ui.choices import Choices, not_applied
from ui.glyphs import unsafe
from ui.screens.encryption import EncryptionScreen
from ui.screens.software import SoftwareScreen
from ui.text_mode import TextInstaller

SIZE = (80, 24)
PASSPHRASE = "vault-held-passphrase-7Qx"
SP_ID = "0000aaaa-sp-secret"
SP_SECRET = "sp-client-secret-Zr9"


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    with running_standin(tmp_path / "standin") as running:
        monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", running.imds_url)  # IMDS -> the stand-in
        running.add_secret("disk-passphrase", PASSPHRASE)
        running.add_rsa_key("disk-kek")
        running.add_ec_key("ec-key")
        running.add_service_principal(SP_ID, secret=SP_SECRET)
        yield running


def vault_settings(standin: StandIn, ca: str | bool | None = None) -> VaultSettings:
    return VaultSettings(connection_verify=str(standin.ca.ca_pem) if ca is None else ca,
                         verify_challenge_resource=False, timeout=3,
                         retry=Retry(attempts=1, base_delay=0.1, max_delay=0.1, sleep=lambda _s: None))


def sp_profile(standin: StandIn, **identity: str) -> Profile:
    """A profile naming a service principal at the stand-in's authority (the screen has no authority field)."""
    ident = VaultIdentity(kind="service-principal", tenant_id=standin.tenant_id, client_id=SP_ID,
                          authority=standin.authority, **identity)
    enc = Encryption(enabled=True, key_source="keyvault-secret", vault_url=standin.vault_url,
                     key_name="disk-passphrase", identity=ident)
    return Profile(storage=Storage(disks=(DiskMatch(path="/dev/vda"),), auto=AutoLayout()),
                   payload=Payload(packages=("bash",)), encryption=enc)


async def shown(pilot: Pilot[Any], app: InstallerApp) -> str:
    await pilot.pause()
    text = screen_text(app)
    assert not unsafe(text), f"glyphs the console lacks: {unsafe(text)}"
    return text


async def to_encryption(pilot: Pilot[Any], app: InstallerApp, mode: str = "off") -> EncryptionScreen:
    await pilot.press("ctrl+n")
    await pilot.pause()
    if app.choices.base is None:
        await pilot.press("space")  # /dev/vda becomes the target (a profile names it already)
    await pilot.press("ctrl+n")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, EncryptionScreen)
    while app.choices.encryption != mode:
        await pilot.press("space")
    await pilot.pause()
    return screen


def fill(screen: EncryptionScreen, **values: str) -> None:
    for name, value in values.items():
        screen.query_one(f"#{name}", Input).value = value


async def run_check(pilot: Pilot[Any], app: InstallerApp) -> str:
    await pilot.press("ctrl+t")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    text = await shown(pilot, app)
    return " ".join(line.strip() for line in text.splitlines())  # the result line wraps at 80 columns


async def test_keyvault_secret_found_with_the_managed_identity(standin: StandIn) -> None:
    app = make_app(vault_settings=vault_settings(standin))
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_encryption(pilot, app, "keyvault-secret")
        fill(screen, vault_url=standin.vault_url, key_name="disk-passphrase")
        text = await run_check(pilot, app)
        assert f"[+] ok: secret 'disk-passphrase' in {standin.vault_url} was read (25 characters)" in text
        assert PASSPHRASE not in text
        assert ("GET", "/metadata/identity/oauth2/token") in standin.requests  # the real SDK signed in


async def test_keyvault_key_wraps_and_unwraps(standin: StandIn) -> None:
    app = make_app(vault_settings=vault_settings(standin))
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_encryption(pilot, app, "keyvault-key")
        fill(screen, vault_url=standin.vault_url, key_name="disk-kek")
        text = await run_check(pilot, app)
        assert "[+] ok: key 'disk-kek'" in text and "wrapped and unwrapped a test value (RSA-OAEP-256)" in text
        assert any(path.endswith("/unwrapkey") for _, path in standin.requests)


@pytest.mark.parametrize(("mode", "name", "setup", "expected"), [
    ("keyvault-secret", "disk-passphrase", "reader", "forbidden (403): the identity needs the 'Key Vault Secrets "
     "User' role on the vault (or an access policy with secrets: get)"),
    ("keyvault-key", "disk-kek", "reader", "forbidden (403): the identity needs the 'Key Vault Crypto Service "
     "Encryption User' role"),
    ("keyvault-secret", "no-such-secret", "", "secret 'no-such-secret' was not found (404)"),
    ("keyvault-key", "no-such-key", "", "key 'no-such-key' was not found (404)"),
    ("keyvault-key", "ec-key", "", "it is an EC key; envelope encryption needs an RSA key"),
    ("keyvault-secret", "disk-passphrase", "unreachable", "the vault is unreachable"),
    ("keyvault-secret", "disk-passphrase", "untrusted", "the TLS connection failed"),
])
async def test_each_failure_is_one_line(standin: StandIn, mode: str, name: str, setup: str, expected: str) -> None:
    app = make_app(vault_settings=vault_settings(standin, ca=True if setup == "untrusted" else None))
    if setup == "reader":
        standin.managed_identity.roles = {"Key Vault Reader"}
    url = "https://127.0.0.1:9" if setup == "unreachable" else standin.vault_url  # port 9: nothing listens
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_encryption(pilot, app, mode)
        fill(screen, vault_url=url, key_name=name)
        text = await run_check(pilot, app)
        assert "[!] cannot " in text and expected in text, text


async def test_a_service_principal_from_the_profile_and_its_secret_never_shown(standin: StandIn) -> None:
    app = make_app(choices=Choices.from_profile(sp_profile(standin, client_secret=SP_SECRET)),
                   vault_settings=vault_settings(standin))
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_encryption(pilot, app, "keyvault-secret")
        text = await shown(pilot, app)
        assert "Tenant id" in text and "Client secret" in text and "*" * len(SP_SECRET) in text
        assert screen.query_one("#tenant_id", Input).value == standin.tenant_id
        text = await run_check(pilot, app)
        assert "[+] ok: secret 'disk-passphrase'" in text and SP_SECRET not in text
        fill(screen, client_secret="wrong-secret-value")
        text = await run_check(pilot, app)
        assert f"signing in to Azure as the service principal {SP_ID} (client secret) failed" in text
        assert "wrong-secret-value" not in text and "AADSTS7000215" in text


async def test_a_service_principal_with_a_certificate(standin: StandIn, tmp_path: Path) -> None:
    pem = tmp_path / "sp.pem"
    standin.add_service_principal("0000bbbb-sp-cert", certificate_der=make_client_certificate(pem))
    app = make_app(choices=Choices.from_profile(sp_profile(standin, certificate_path=str(pem))),
                   vault_settings=vault_settings(standin))
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_encryption(pilot, app, "keyvault-secret")
        fill(screen, client_id="0000bbbb-sp-cert")
        assert "[+] ok: secret 'disk-passphrase'" in await run_check(pilot, app)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, SoftwareScreen)
        enc = app.choices.encryption_section()
        assert enc is not None and enc.identity.certificate_path == str(pem) and enc.identity.client_secret is None


@pytest.mark.parametrize(("values", "expected"), [
    ({"vault_url": "http://my-vault.vault.azure.net", "key_name": "k"}, "the vault URL must look like"),
    ({"vault_url": "https://my-vault.example.com", "key_name": "k"}, "the vault URL must look like"),
    ({"vault_url": "https://my-vault.vault.azure.net", "key_name": "bad name!"}, "the key or secret name: 1-127"),
    ({"vault_url": "https://my-vault.vault.azure.net", "key_name": ""}, "the key or secret name: 1-127"),
])
async def test_vault_field_errors(values: dict[str, str], expected: str) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_encryption(pilot, app, "keyvault-secret")
        fill(screen, **values)
        await pilot.press("ctrl+n")
        assert f"! {expected}" in await shown(pilot, app)
        assert isinstance(app.screen, EncryptionScreen)
        await pilot.press("ctrl+t")  # the test refuses the same mistakes before any network traffic
        assert f"! {expected}" in await shown(pilot, app)
        assert not app.workers._workers


@pytest.mark.parametrize(("values", "expected"), [
    ({"tenant_id": "", "client_id": "c", "client_secret": "s"}, "a service principal needs the tenant id"),
    ({"tenant_id": "t", "client_id": "", "client_secret": "s"}, "a service principal needs the client (application)"),
    ({"tenant_id": "t", "client_id": "c"}, "give either the client secret or the certificate file"),
    ({"tenant_id": "t", "client_id": "c", "client_secret": "s", "certificate_path": "/etc/hostname"},
     "give either the client secret or the certificate file"),
    ({"tenant_id": "t", "client_id": "c", "certificate_path": "/nonexistent/sp.pem"},
     "certificate file /nonexistent/sp.pem does not exist"),
])
async def test_service_principal_errors(values: dict[str, str], expected: str) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_encryption(pilot, app, "keyvault-key")
        fill(screen, vault_url="https://my-vault.vault.azure.net", key_name="disk-kek")
        screen.focus_next()  # from the mode choice on
        screen.query_one("#identity").focus()
        await pilot.press("space")  # service-principal
        fill(screen, **values)
        await pilot.press("ctrl+n")
        text = await shown(pilot, app)
        assert f"! {expected}" in text and isinstance(app.screen, EncryptionScreen)


async def test_test_connection_is_only_for_key_vault() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_encryption(pilot, app, "passphrase")
        await pilot.press("ctrl+t")
        assert "! the connection test is for keyvault-secret and keyvault-key" in await shown(pilot, app)


async def test_the_not_applied_line_is_the_plans_blocker() -> None:
    enc = Encryption(enabled=True, key_source="keyvault-key", vault_url="https://v.vault.azure.net", key_name="k")
    api = dry_run()
    line = not_applied(api, enc)
    blockers = refusals(Profile(storage=Storage(disks=()), encryption=enc), device_mapper=api.facts().device_mapper)
    assert line is not None and line.endswith("; ".join(b.message for b in blockers))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_encryption(pilot, app, "keyvault-key")
        text = " ".join(line.strip() for line in (await shown(pilot, app)).splitlines())
        assert "! Cannot be done here (Review lists it as a blocker and refuses):" in text


def test_line_mode_asks_the_identity_and_tests_the_connection(standin: StandIn) -> None:
    base = replace(sp_profile(standin, client_secret=SP_SECRET), interactive_sections=("encryption",))
    answers = iter(["3", "", "", "", "", "", "", "y", "q"])  # keyvault-secret; Enter keeps each prefilled value
    out = io.StringIO()
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    installer = TextInstaller(dry_run(vault_settings=vault_settings(standin)), Choices.from_profile(base), ask, out,
                              ask)
    assert installer.run() == 2
    text = out.getvalue()
    assert "Client secret, or Enter to use a certificate (Enter keeps the one given): " in prompts
    assert f"[+] ok: secret 'disk-passphrase' in {standin.vault_url} was read (25 characters)" in text
    assert "... signing in as the service principal 0000aaaa-sp-secret (client secret)" in text
    assert SP_SECRET not in text and PASSPHRASE not in text
    assert "! this plan cannot be installed" in text and "  x encryption: " in text  # the plan's blocker


async def test_without_overrides_the_test_uses_the_installs_own_trust_settings(standin: StandIn) -> None:
    """The profile's ca_bundle (as installer.encryption uses it) makes the stand-in trusted, and its address
    (outside Azure's vault domains) acceptable."""
    base = sp_profile(standin, client_secret=SP_SECRET)
    assert base.encryption is not None
    enc = replace(base.encryption, key_source="keyvault-key", key_name="disk-kek", identity=VaultIdentity(),
                  ca_bundle=str(standin.ca.ca_pem))
    app = make_app(choices=Choices.from_profile(replace(base, encryption=enc)))
    assert app.api.any_vault_host(None) is False  # no client settings of its own: the install's are used
    async with app.run_test(size=SIZE) as pilot:
        await to_encryption(pilot, app, "keyvault-key")
        assert "[+] ok: key 'disk-kek'" in await run_check(pilot, app)


def test_the_screens_messages_are_in_docs_errors() -> None:
    table = (Path(__file__).parents[2] / "docs" / "errors.md").read_text()
    messages = ["the vault URL must look like", "the key or secret name: 1-127",
                "a service principal needs the tenant id", "a service principal needs the client (application) id",
                "give either the client secret or the certificate file", "does not exist",
                "the connection test is for keyvault-secret and keyvault-key"]
    assert not [m for m in messages if f"! {m}" not in table and m not in table]
