"""The Key Vault stand-in as every test meets it: the same secrets, keys and service principal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from installer.keyvault.client import Retry, VaultClient, VaultSettings
from installer.keyvault.identity import Credential
from profiles.model import VaultIdentity
from tests.support.keyvault_standin import StandIn, running_standin

VAULT_PASSPHRASE = "vault-held-passphrase-7Qx"  # the secret 'disk-passphrase'
SP_ID = "0000aaaa-sp-secret"  # a service principal signing in with SP_SECRET
SP_SECRET = "sp-client-secret-Zr9"


@contextmanager
def standin_vault(workdir: Path, monkeypatch: pytest.MonkeyPatch | None = None) -> Iterator[StandIn]:
    """A started stand-in holding the secret 'disk-passphrase', the RSA key 'disk-kek', the EC key 'ec-key'
    and the service principal SP_ID; with monkeypatch, the managed identity's token requests go to it."""
    with running_standin(workdir) as running:
        if monkeypatch is not None:
            monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", running.imds_url)  # IMDS -> the stand-in
        running.add_secret("disk-passphrase", VAULT_PASSPHRASE)
        running.add_rsa_key("disk-kek")
        running.add_ec_key("ec-key")
        running.add_service_principal(SP_ID, secret=SP_SECRET)
        yield running


def standin_settings(standin: StandIn, *, attempts: int = 2) -> VaultSettings:
    """Client settings for the stand-in: its CA, no challenge-domain check, short timeouts, quick retries."""
    return VaultSettings(connection_verify=str(standin.ca.ca_pem), verify_challenge_resource=False, timeout=3,
                         retry=Retry(attempts=attempts, base_delay=0.01))


def standin_client(standin: StandIn, identity: VaultIdentity | None = None) -> VaultClient:
    """A client of the stand-in signing in as the managed identity (or the given identity)."""
    return VaultClient(standin.vault_url, Credential(identity or VaultIdentity(), retry_total=0, timeout=3,
                                                     connection_verify=str(standin.ca.ca_pem)),
                       standin_settings(standin))
