"""A small Key Vault client over the Azure SDK: secrets get/set, key wrap/unwrap, bounded retries.

Every failure leaves as a VaultError with one line (errors.py). Throttling (429), 5xx answers
and an unreachable vault are retried with exponential backoff (honouring Retry-After), a
bounded number of times; the SDK's own retries are switched off so the bound is ours.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.keyvault.keys import KeyClient, KeyType, KeyVaultKey
from azure.keyvault.keys.crypto import CryptographyClient, KeyWrapAlgorithm
from azure.keyvault.secrets import SecretClient

from installer.core.secrets import SecretBytes
from installer.keyvault import errors
from installer.keyvault.errors import Operation, VaultError, explain
from installer.keyvault.identity import Credential
from profiles.model import Encryption

WRAP_ALGORITHM = "RSA-OAEP-256"
_RETRY_STATUS = (429, 500, 502, 503, 504)
T = TypeVar("T")


@dataclass(frozen=True)
class Retry:
    """Bounded retries with exponential backoff; Retry-After is honoured up to max_delay."""

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 20.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None and retry_after.strip().isdigit():
            return min(self.max_delay, float(retry_after))
        return min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))


@dataclass(frozen=True)
class VaultSettings:
    connection_verify: str | bool = True  # a CA bundle path, or True for the system's
    verify_challenge_resource: bool = True  # False only for a vault that is not under *.vault.azure.net (tests)
    timeout: float = 10.0
    retry: Retry = field(default_factory=Retry)


@dataclass(frozen=True)
class WrappedKey:
    key_id: str  # the versioned key id, so unwrapping uses the very key version that wrapped
    algorithm: str
    blob: bytes

    def to_token(self, vault_url: str, keyslots: list[str]) -> dict[str, Any]:
        """The LUKS2 token that keeps the wrapped key in the volume's header."""
        return {"type": "azure-keyvault", "keyslots": keyslots, "vault_url": vault_url, "key_id": self.key_id,
                "alg": self.algorithm, "wrapped_key": base64.b64encode(self.blob).decode()}

    @classmethod
    def from_token(cls, token: dict[str, Any]) -> WrappedKey:
        if token.get("type") != "azure-keyvault":
            raise ValueError(f"not an azure-keyvault token (type {token.get('type')!r})")
        return cls(str(token["key_id"]), str(token["alg"]), base64.b64decode(str(token["wrapped_key"])))


# Hosts of the Azure clouds' vaults: only these get the SDK's check that a vault's sign-in
# challenge names the vault's own domain. A private endpoint or a test vault at an address has no
# such domain; the CA bundle is what makes those trusted.
_VAULT_SUFFIXES = (".vault.azure.net", ".vault.azure.cn", ".vault.usgovcloudapi.net", ".managedhsm.azure.net")


def vault_settings(enc: Encryption) -> VaultSettings:
    """The client settings an install uses for the profile's vault: its CA bundle (or the system's CAs), and
    the challenge-domain check only for the Azure clouds' own vault hosts."""
    host = urlsplit(enc.vault_url or "").hostname or ""
    return VaultSettings(connection_verify=enc.ca_bundle or True,
                         verify_challenge_resource=host.endswith(_VAULT_SUFFIXES))


def key_name_of(key_id: str) -> str:
    """'https://v.vault.azure.net/keys/NAME/VERSION' -> 'NAME'."""
    parts = key_id.split("/keys/", 1)[-1].split("/")
    return parts[0]


class VaultClient:
    def __init__(self, vault_url: str, credential: Credential, settings: VaultSettings | None = None) -> None:
        self.vault_url = vault_url.rstrip("/")
        self.credential = credential
        self.settings = settings or VaultSettings()
        self._sdk: dict[str, Any] = {
            "retry_total": 0, "connection_timeout": self.settings.timeout, "read_timeout": self.settings.timeout,
            "connection_verify": self.settings.connection_verify,
            "verify_challenge_resource": self.settings.verify_challenge_resource,
        }
        self._secrets = SecretClient(self.vault_url, credential, **self._sdk)
        self._keys = KeyClient(self.vault_url, credential, **self._sdk)

    def _call(self, op: Operation, action: Callable[[], T]) -> T:
        retry = self.settings.retry
        attempt = 1
        while True:
            try:
                return action()
            except (HttpResponseError, ServiceRequestError, ServiceResponseError) as err:
                status = getattr(err, "status_code", None) if isinstance(err, HttpResponseError) else None
                transient = status in _RETRY_STATUS or (
                    isinstance(err, ServiceRequestError | ServiceResponseError) and explain(
                        err, op, self.vault_url).kind == "unreachable")
                if not transient or attempt >= retry.attempts:
                    raise explain(err, op, self.vault_url, attempts=attempt) from None
                response = getattr(err, "response", None)
                retry_after = response.headers.get("Retry-After") if response is not None else None
                retry.sleep(retry.delay(attempt, retry_after))
                attempt += 1
            except VaultError:
                raise
            except Exception as err:
                raise explain(err, op, self.vault_url, attempts=attempt) from None

    # -- secrets -------------------------------------------------------------------------
    def get_secret(self, name: str, version: str | None = None) -> SecretBytes:
        def fetch() -> SecretBytes:
            secret = self._secrets.get_secret(name, version)
            if secret.value is None:
                raise VaultError(f"cannot read secret '{name}' in {self.vault_url}: it has no value",
                                 kind="bad-request")
            return SecretBytes.from_text(secret.value)  # the SDK's str is dropped with `secret`

        return self._call(errors.read_secret(name), fetch)

    def set_secret(self, name: str, value: SecretBytes, *, tags: dict[str, str],
                   content_type: str | None = None) -> str:
        """Store a new version of a secret; returns its id (with the version)."""
        def store() -> str:
            stored = self._secrets.set_secret(name, value.text(), tags=tags, content_type=content_type)
            return str(stored.id)

        return self._call(errors.store_secret(name), store)

    # -- keys ----------------------------------------------------------------------------
    def get_wrapping_key(self, name: str, version: str | None = None) -> KeyVaultKey:
        """The key, checked to be an RSA key that may wrap (anything else is a clear error)."""
        key = self._call(errors.read_key(name), lambda: self._keys.get_key(name, version))
        if key.key_type not in (KeyType.rsa, KeyType.rsa_hsm):
            kty = getattr(key.key_type, "value", key.key_type)
            raise VaultError(f"cannot wrap with key '{name}' in {self.vault_url}: it is an {kty} key; "
                             f"envelope encryption needs an RSA key ({WRAP_ALGORITHM})", kind="wrong-key")
        ops = [str(o) for o in key.key_operations or []]
        if ops and not {"wrapKey", "unwrapKey"} <= set(ops):
            raise VaultError(f"cannot wrap with key '{name}' in {self.vault_url}: the key does not permit "
                             "wrapKey and unwrapKey (allowed: " + ", ".join(ops) + ")", kind="wrong-key")
        return key

    def wrap_key(self, name: str, plaintext: SecretBytes, version: str | None = None) -> WrappedKey:
        key = self.get_wrapping_key(name, version)
        crypto = CryptographyClient(key, self.credential, **self._sdk)  # wraps locally with the public key

        def wrap() -> WrappedKey:
            result = crypto.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, bytes(plaintext.view()))
            return WrappedKey(str(result.key_id or key.id), WRAP_ALGORITHM, bytes(result.encrypted_key))

        return self._call(errors.wrap_key(name), wrap)

    def unwrap_key(self, wrapped: WrappedKey) -> SecretBytes:
        """Ask the vault to unwrap (the private key never leaves it)."""
        name = key_name_of(wrapped.key_id)
        if wrapped.algorithm != WRAP_ALGORITHM:
            raise VaultError(f"cannot unwrap with key '{name}': algorithm {wrapped.algorithm} is not "
                             f"{WRAP_ALGORITHM}", kind="wrong-key")
        crypto = CryptographyClient(wrapped.key_id, self.credential, **self._sdk)

        def unwrap() -> SecretBytes:
            result = crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, wrapped.blob)
            return SecretBytes(bytearray(result.key))

        try:
            return self._call(errors.unwrap_key(name), unwrap)
        except VaultError as err:
            if err.status == 400 and "EC" in str(err):
                raise VaultError(f"cannot unwrap with key '{name}' in {self.vault_url}: it is not an RSA key; "
                                 f"envelope encryption needs an RSA key ({WRAP_ALGORITHM})", kind="wrong-key",
                                 status=400) from None
            raise

    def close(self) -> None:
        self._secrets.close()
        self._keys.close()
