"""Credentials for Key Vault: the VM's managed identity or a service principal (secret or certificate)."""

from __future__ import annotations

import ssl
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
from azure.core.exceptions import AzureError
from azure.identity import CertificateCredential, ClientSecretCredential, ManagedIdentityCredential

from installer.keyvault.errors import SignInFailed
from profiles.model import VaultIdentity

AnyCredential = ManagedIdentityCredential | ClientSecretCredential | CertificateCredential


def describe(identity: VaultIdentity) -> str:
    """Who signs in, for messages (ids only, never a credential)."""
    if identity.kind == "managed-identity":
        return f"the managed identity {identity.client_id}" if identity.client_id else "the VM's managed identity"
    how = "certificate" if identity.certificate_path else "client secret"
    return f"the service principal {identity.client_id} ({how})"


class Credential:
    """Wraps an azure-identity credential so a failed sign-in becomes SignInFailed, told apart from a vault 401."""

    def __init__(self, identity: VaultIdentity, *, connection_verify: str | bool = True, retry_total: int = 2,
                 timeout: float = 10.0) -> None:
        self.identity = identity
        self.who = describe(identity)
        options: dict[str, Any] = {"retry_total": retry_total, "connection_timeout": timeout,
                                   "read_timeout": timeout}
        inner: AnyCredential
        if identity.kind == "managed-identity":
            inner = ManagedIdentityCredential(client_id=identity.client_id, **options)
        else:
            assert identity.tenant_id and identity.client_id
            sp: dict[str, Any] = {**options, "connection_verify": connection_verify}
            if identity.authority:
                sp |= {"authority": identity.authority, "disable_instance_discovery": True}
            if identity.certificate_path:
                inner = CertificateCredential(identity.tenant_id, identity.client_id,
                                              certificate_path=identity.certificate_path,
                                              password=identity.certificate_password, **sp)
            else:
                assert identity.client_secret
                inner = ClientSecretCredential(identity.tenant_id, identity.client_id, identity.client_secret, **sp)
        self._inner = inner

    def _fail(self, err: Exception) -> SignInFailed:
        if isinstance(err, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(err):
            reason = "the TLS connection to the sign-in endpoint failed (certificate not trusted)"
        else:
            text = str(getattr(err, "message", None) or err)
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            reason = " ".join(lines[:2])[:300] or type(err).__name__
        return SignInFailed(self.who, reason)

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  enable_cae: bool = False, **kwargs: Any) -> AccessToken:
        try:
            return self._inner.get_token(*scopes, claims=claims, tenant_id=tenant_id, enable_cae=enable_cae,
                                         **kwargs)
        except (AzureError, ValueError, OSError) as err:
            raise self._fail(err) from err

    def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None) -> AccessTokenInfo:
        try:
            return self._inner.get_token_info(*scopes, options=options)
        except (AzureError, ValueError, OSError) as err:
            raise self._fail(err) from err

    def close(self) -> None:
        self._inner.close()
