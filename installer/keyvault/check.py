"""The front ends' Key Vault "Test connection" (installer.api's test_vault): the real client, one line.

It does what the install will need and nothing more: for keyvault-secret it reads the
secret (the value is wiped at once and never shown); for keyvault-key it fetches the key,
wraps a random test value with it and asks the vault to unwrap it again, which proves the
identity holds wrapKey and unwrapKey. Nothing is written to the vault. Every failure is the
client's one-line VaultError text (which names the missing role, the 404 name, an unreachable
vault or a TLS problem) and never holds a secret.

Importing this module is cheap: the Azure SDK (the client and identity modules) loads only when a
check runs, so the API can name CheckResult without the UI paying for the SDK at start-up.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from installer.core.secrets import SecretBytes
from profiles.model import Encryption

if TYPE_CHECKING:
    from installer.keyvault.client import VaultClient, VaultSettings

# A person is waiting at the screen: fewer and shorter retries than an install uses.
INTERACTIVE_ATTEMPTS, INTERACTIVE_BASE_DELAY, INTERACTIVE_MAX_DELAY = 2, 1.0, 4.0
INTERACTIVE_TIMEOUT = 8.0
TEST_VALUE_BYTES = 32

Progress = Callable[[str], None]


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    line: str  # one line, for the screen and the log; never a secret


def interactive_settings(base: VaultSettings) -> VaultSettings:
    return replace(base, timeout=min(base.timeout, INTERACTIVE_TIMEOUT),
                   retry=replace(base.retry, attempts=INTERACTIVE_ATTEMPTS, base_delay=INTERACTIVE_BASE_DELAY,
                                 max_delay=INTERACTIVE_MAX_DELAY))


def check_vault(enc: Encryption, settings: VaultSettings | None = None,
                progress: Progress | None = None) -> CheckResult:
    """Sign in as enc.identity and use enc.key_name the way the install will. Blocking: run it in a worker.

    settings: the client settings to use; None = the install's own (installer.encryption: the
    profile's ca_bundle, the Azure-domain check), with the shorter interactive retries.
    """
    say = progress or (lambda _text: None)
    if enc.key_source not in ("keyvault-secret", "keyvault-key") or not enc.vault_url or not enc.key_name:
        return CheckResult(False, "choose keyvault-secret or keyvault-key and fill in the vault URL and name")
    # The Azure SDK loads here, when a person asks for the test, never when the UI starts.
    from installer.keyvault.client import VaultClient, vault_settings
    from installer.keyvault.errors import VaultError
    from installer.keyvault.identity import Credential, describe

    who = describe(enc.identity)
    try:
        if settings is None:
            settings = vault_settings(enc)  # the install's own trust rules
        settings = interactive_settings(settings)
        credential = Credential(enc.identity, connection_verify=settings.connection_verify, retry_total=0,
                                timeout=settings.timeout)
        client = VaultClient(enc.vault_url, credential, settings)
    except (ValueError, OSError) as err:  # e.g. an unreadable certificate file: azure-identity reads it here
        return CheckResult(False, f"cannot use {who}: {_one_line(err)}")
    try:
        if enc.key_source == "keyvault-secret":
            say(f"signing in as {who} and reading secret '{enc.key_name}' ...")
            return _check_secret(client, enc)
        say(f"signing in as {who} and reading key '{enc.key_name}' ...")
        return _check_key(client, enc, say)
    except VaultError as err:
        return CheckResult(False, str(err))
    finally:
        client.close()
        credential.close()


def _check_secret(client: VaultClient, enc: Encryption) -> CheckResult:
    assert enc.key_name
    with client.get_secret(enc.key_name, enc.key_version) as secret:
        size = len(secret)
    if not size:
        return CheckResult(False, f"secret '{enc.key_name}' in {client.vault_url} is empty: it must hold the "
                           "passphrase")
    return CheckResult(True, f"ok: secret '{enc.key_name}' in {client.vault_url} was read ({size} characters) "
                       "and can unlock the disk")


def _check_key(client: VaultClient, enc: Encryption, say: Progress) -> CheckResult:
    assert enc.key_name
    test = SecretBytes(bytearray(secrets.token_bytes(TEST_VALUE_BYTES)))
    expected = bytes(test.view())
    wrapped = client.wrap_key(enc.key_name, test, enc.key_version)
    say(f"key '{enc.key_name}' found; asking the vault to unwrap a test value ...")
    with client.unwrap_key(wrapped) as back:
        same = hmac.compare_digest(bytes(back.view()), expected)
    test.wipe()
    if not same:
        return CheckResult(False, f"key '{enc.key_name}' in {client.vault_url} unwrapped the test value "
                           "wrongly; the vault is not behaving as Key Vault")
    return CheckResult(True, f"ok: key '{enc.key_name}' in {client.vault_url} wrapped and unwrapped a test "
                       f"value ({wrapped.algorithm}); the identity may wrap and unwrap")


def _one_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__
