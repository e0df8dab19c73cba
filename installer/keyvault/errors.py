"""Key Vault failures as one clear line each: what failed, why, and what to change."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)


class SignInFailed(Exception):
    """Getting a token for the identity failed (raised by the credential wrapper, before the vault is asked)."""

    def __init__(self, identity: str, reason: str) -> None:
        super().__init__(f"{identity}: {reason}")
        self.identity = identity
        self.reason = reason


class VaultError(Exception):
    """A Key Vault operation failed; str() is one line that names the cause and the fix."""

    def __init__(self, message: str, *, kind: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind  # unreachable, tls, auth, forbidden, not-found, throttled, wrong-key, bad-request
        self.status = status


@dataclass(frozen=True)
class Operation:
    """What was attempted, for the message: 'read secret', the object's name, and the role it needs."""

    verb: str  # "read secret", "store secret", "read key", "wrap with key", "unwrap with key"
    name: str
    role: str  # the built-in RBAC role that grants it
    permission: str  # the access-policy permission that grants it, e.g. "secrets: get"

    @property
    def kind(self) -> str:
        return "secret" if "secret" in self.verb else "key"


def read_secret(name: str) -> Operation:
    return Operation("read secret", name, "Key Vault Secrets User", "secrets: get")


def store_secret(name: str) -> Operation:
    return Operation("store secret", name, "Key Vault Secrets Officer", "secrets: set")


def read_key(name: str) -> Operation:
    return Operation("read key", name, "Key Vault Crypto Service Encryption User", "keys: get")


def wrap_key(name: str) -> Operation:
    return Operation("wrap with key", name, "Key Vault Crypto Service Encryption User", "keys: wrapKey")


def unwrap_key(name: str) -> Operation:
    return Operation("unwrap with key", name, "Key Vault Crypto Service Encryption User", "keys: unwrapKey")


def _chain(err: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [err]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo += [item.__cause__, item.__context__, getattr(item, "inner_exception", None)]
        todo += [a for a in getattr(item, "args", ()) if isinstance(a, BaseException)]
    return seen


def _is_tls(err: BaseException) -> bool:
    return any(isinstance(e, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(e) or "SSLError" in repr(e)
               for e in _chain(err))


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip().rstrip(".")
    return text.strip()


def _server_message(err: HttpResponseError) -> str:
    error = getattr(err, "error", None)
    message = getattr(error, "message", None) or err.message or str(err)
    return _first_line(str(message))


def explain(err: BaseException, op: Operation, vault_url: str, *, attempts: int = 1) -> VaultError:
    """Map an SDK exception to a VaultError with one line of text (no secret values ever appear)."""
    what = f"{op.verb} '{op.name}' in {vault_url}"
    if isinstance(err, VaultError):
        return err
    if isinstance(err, ServiceRequestError | ServiceResponseError) or (
            isinstance(err, AzureError) and not isinstance(err, HttpResponseError) and _is_tls(err)):
        if _is_tls(err):
            return VaultError(f"cannot {what}: the TLS connection failed (the server's certificate is not trusted "
                              "or does not match the host); check the URL and the CA bundle", kind="tls")
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return VaultError(f"cannot {what}: the vault is unreachable{tries} ({_first_line(str(err))}); check the "
                          "URL, DNS and the network route to the vault", kind="unreachable")
    if isinstance(err, SignInFailed):
        return VaultError(f"cannot {what}: signing in to Azure as {err.identity} failed: {err.reason}", kind="auth")
    if isinstance(err, HttpResponseError):
        status = err.status_code or 0
        if status == 401:
            return VaultError(f"cannot {what}: the vault rejected the identity's token (401 Unauthorized): "
                              f"{_server_message(err)}", kind="auth", status=401)
        if status == 403:
            return VaultError(f"cannot {what}: forbidden (403): the identity needs the '{op.role}' role on the "
                              f"vault (or an access policy with {op.permission})", kind="forbidden", status=403)
        if status == 404:
            return VaultError(f"cannot {what}: {op.kind} '{op.name}' was not found (404); check the {op.kind} name "
                              "and version", kind="not-found", status=404)
        if status == 429:
            return VaultError(f"cannot {what}: the vault is throttling requests (429 Too Many Requests) and still was "
                              f"after {attempts} attempts; try again later", kind="throttled", status=429)
        return VaultError(f"cannot {what}: the vault answered {status}: {_server_message(err)}",
                          kind="bad-request", status=status)
    return VaultError(f"cannot {what}: {_first_line(str(err)) or type(err).__name__}", kind="unknown")
