"""The Key Vault client through the real Azure SDK against the local stand-in (HTTPS, test CA)."""

from __future__ import annotations

import io
import re
import socket
import time
from pathlib import Path

import pytest

from installer.core.secrets import SecretBytes
from installer.keyvault.client import Retry, VaultClient, VaultSettings, WrappedKey
from installer.keyvault.errors import VaultError
from installer.keyvault.identity import Credential
from installer.keyvault.keysource import (
    escrow_recovery_key,
    new_recovery_key,
    obtain_volume_key,
    recovery_secret_name,
    unwrap_volume_key,
)
from profiles.model import Encryption, Recovery, VaultIdentity
from tests.support.keyvault_standin import StandIn, make_ca, make_client_certificate
from tests.support.vault import SP_ID, SP_SECRET
from tests.support.vault import VAULT_PASSPHRASE as PASSPHRASE


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def settings(standin: StandIn, sleeps: Sleeps | None = None, attempts: int = 3,
             ca: Path | None = None) -> VaultSettings:
    return VaultSettings(connection_verify=str(ca or standin.ca.ca_pem), verify_challenge_resource=False,
                         timeout=3, retry=Retry(attempts=attempts, base_delay=0.5, max_delay=8,
                                                sleep=sleeps if sleeps is not None else Sleeps()))


def client(standin: StandIn, identity: VaultIdentity | None = None, **kwargs: object) -> VaultClient:
    ident = identity or VaultIdentity()
    credential = Credential(ident, connection_verify=str(standin.ca.ca_pem), retry_total=0, timeout=3)
    return VaultClient(standin.vault_url, credential, settings(standin, **kwargs))  # type: ignore[arg-type]


def sp_identity(standin: StandIn, **changes: str) -> VaultIdentity:
    values = {"kind": "service-principal", "tenant_id": standin.tenant_id, "client_id": SP_ID,
              "client_secret": SP_SECRET, "authority": standin.authority, **changes}
    return VaultIdentity(**values)  # type: ignore[arg-type]


def error_of(call: object) -> VaultError:
    with pytest.raises(VaultError) as info:
        call()  # type: ignore[operator]
    assert "\n" not in str(info.value)
    return info.value


# -- identities -----------------------------------------------------------------------------
def test_managed_identity_reads_a_secret_through_the_challenge(standin: StandIn) -> None:
    with client(standin).get_secret("disk-passphrase") as secret:
        assert secret.text() == PASSPHRASE
    # The SDK's first request is unauthenticated; the 401 challenge makes it fetch an IMDS token.
    assert standin.requests[:3] == [("GET", "/secrets/disk-passphrase/"), ("GET", "/metadata/identity/oauth2/token"),
                                    ("GET", "/secrets/disk-passphrase/")]


def test_service_principal_with_a_client_secret(standin: StandIn) -> None:
    assert client(standin, sp_identity(standin)).get_secret("disk-passphrase").text() == PASSPHRASE


def test_service_principal_with_a_certificate(standin: StandIn, tmp_path: Path) -> None:
    pem = tmp_path / "sp.pem"
    standin.add_service_principal("0000bbbb-sp-cert", certificate_der=make_client_certificate(pem))
    identity = VaultIdentity(kind="service-principal", tenant_id=standin.tenant_id, client_id="0000bbbb-sp-cert",
                             certificate_path=str(pem), authority=standin.authority)
    assert client(standin, identity).get_secret("disk-passphrase").text() == PASSPHRASE


def test_a_wrong_client_secret_is_a_sign_in_error(standin: StandIn) -> None:
    err = error_of(lambda: client(standin, sp_identity(standin, client_secret="wrong")).get_secret("disk-passphrase"))
    assert err.kind == "auth"
    assert str(err).startswith("cannot read secret 'disk-passphrase' in https://127.0.0.1:")
    assert "signing in to Azure as the service principal 0000aaaa-sp-secret (client secret) failed" in str(err)
    assert "AADSTS7000215: Invalid client secret provided" in str(err) and "wrong" not in str(err)


def test_an_unknown_managed_identity_is_a_sign_in_error(standin: StandIn) -> None:
    err = error_of(lambda: client(standin, VaultIdentity(client_id="not-assigned")).get_secret("disk-passphrase"))
    assert err.kind == "auth" and "the managed identity not-assigned failed" in str(err)


# -- errors -----------------------------------------------------------------------------------
def test_403_names_the_missing_role_for_each_operation(standin: StandIn) -> None:
    standin.managed_identity.roles = {"Key Vault Reader"}
    vault = client(standin)
    read = error_of(lambda: vault.get_secret("disk-passphrase"))
    assert read.kind == "forbidden" and read.status == 403
    assert "forbidden (403): the identity needs the 'Key Vault Secrets User' role on the vault" in str(read)
    store = error_of(lambda: vault.set_secret("x", SecretBytes(b"y"), tags={}))
    assert "'Key Vault Secrets Officer' role" in str(store) and "secrets: set" in str(store)
    wrapped = WrappedKey(f"{standin.vault_url}/keys/disk-kek/{standin.keys['disk-kek'][0].version}",
                         "RSA-OAEP-256", b"x" * 256)
    unwrap = error_of(lambda: vault.unwrap_key(wrapped))
    assert "unwrap with key 'disk-kek'" in str(unwrap) and "'Key Vault Crypto Service Encryption User'" in str(unwrap)


def test_404_names_the_secret_or_key(standin: StandIn) -> None:
    vault = client(standin)
    err = error_of(lambda: vault.get_secret("no-such-secret"))
    assert err.kind == "not-found"
    assert "secret 'no-such-secret' was not found (404)" in str(err)
    key = error_of(lambda: vault.wrap_key("no-such-key", SecretBytes(b"k" * 64)))
    assert "key 'no-such-key' was not found (404)" in str(key)


def test_throttling_is_retried_with_backoff_and_retry_after(standin: StandIn) -> None:
    sleeps = Sleeps()
    standin.fail("^/secrets/disk-passphrase", 429, times=2, retry_after=3)
    assert client(standin, sleeps=sleeps).get_secret("disk-passphrase").text() == PASSPHRASE
    assert sleeps == [3.0, 3.0]  # the server's Retry-After, not our own backoff
    standin.fail("^/secrets/disk-passphrase", 503, times=2)
    sleeps.clear()
    assert client(standin, sleeps=sleeps).get_secret("disk-passphrase").text() == PASSPHRASE
    assert sleeps == [0.5, 1.0]  # exponential backoff


def test_throttling_that_does_not_stop_is_bounded(standin: StandIn) -> None:
    sleeps = Sleeps()
    standin.fail("^/secrets/", 429, times=100)
    err = error_of(lambda: client(standin, sleeps=sleeps, attempts=4).get_secret("disk-passphrase"))
    assert err.kind == "throttled" and len(sleeps) == 3
    assert "throttling requests (429 Too Many Requests) and still was after 4 attempts" in str(err)


def test_tls_failure_when_the_certificate_is_not_trusted(standin: StandIn, tmp_path: Path) -> None:
    other = make_ca(tmp_path / "other-ca", "some other CA")
    credential = Credential(VaultIdentity(), retry_total=0, timeout=3)
    vault = VaultClient(standin.vault_url, credential, settings(standin, ca=other.ca_pem))
    err = error_of(lambda: vault.get_secret("disk-passphrase"))
    assert err.kind == "tls" and "the TLS connection failed" in str(err)


def test_unreachable_vault_is_retried_a_bounded_number_of_times() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: connection refused
    sleeps = Sleeps()
    credential = Credential(VaultIdentity(), retry_total=0, timeout=3)
    vault = VaultClient(f"https://127.0.0.1:{port}", credential, VaultSettings(
        verify_challenge_resource=False, timeout=3, retry=Retry(attempts=2, base_delay=0.5, sleep=sleeps)))
    started = time.monotonic()
    err = error_of(lambda: vault.get_secret("disk-passphrase"))
    assert err.kind == "unreachable" and "the vault is unreachable after 2 attempts" in str(err)
    # the sleeps prove the bound; the wall-clock limit only catches the SDK's own retries coming back (~75 s)
    assert sleeps == [0.5] and time.monotonic() - started < 30


def test_wrapping_with_an_ec_key_is_a_wrong_key_type(standin: StandIn) -> None:
    vault = client(standin)
    err = error_of(lambda: vault.wrap_key("ec-key", SecretBytes(b"k" * 64)))
    assert err.kind == "wrong-key"
    assert "it is an EC key; envelope encryption needs an RSA key (RSA-OAEP-256)" in str(err)
    token = WrappedKey(f"{standin.vault_url}/keys/ec-key/{standin.keys['ec-key'][0].version}", "RSA-OAEP-256",
                       b"x" * 256)
    unwrap = error_of(lambda: vault.unwrap_key(token))
    assert unwrap.kind == "wrong-key" and "is not an RSA key" in str(unwrap)


def test_an_injected_403_from_an_access_policy_vault(standin: StandIn) -> None:
    standin.fail("^/keys/disk-kek/", 403, method="GET", message="The user, group or application does not have "
                 "keys get permission on key vault")
    err = error_of(lambda: client(standin).wrap_key("disk-kek", SecretBytes(b"k" * 64)))
    assert "read key 'disk-kek'" in str(err) and "(or an access policy with keys: get)" in str(err)


# -- key sources and recovery ---------------------------------------------------------------
def test_key_source_passphrase() -> None:
    key = obtain_volume_key(Encryption(enabled=True, passphrase="typed-passphrase"), None)
    assert key.secret.text() == "typed-passphrase" and key.token is None


def test_key_source_keyvault_secret(standin: StandIn) -> None:
    enc = Encryption(enabled=True, key_source="keyvault-secret", vault_url=standin.vault_url,
                     key_name="disk-passphrase")
    key = obtain_volume_key(enc, client(standin))
    assert key.secret.text() == PASSPHRASE
    # the token names the secret for the initramfs, never its value
    assert key.token == {"type": "azure-keyvault", "keyslots": ["0"], "vault_url": standin.vault_url,
                         "secret": "disk-passphrase"}
    assert key.source == "Key Vault secret 'disk-passphrase'"


def test_key_source_keyvault_key_round_trips_through_the_token(standin: StandIn) -> None:
    enc = Encryption(enabled=True, key_source="keyvault-key", vault_url=standin.vault_url, key_name="disk-kek")
    vault = client(standin)
    started = time.monotonic()
    key = obtain_volume_key(enc, vault)
    assert key.token is not None and len(key.secret) == 64
    # text (64 characters of the base64 alphabet): the dracut agent hands it to systemd-cryptsetup as a passphrase
    assert re.fullmatch(rb"[A-Za-z0-9+/]{64}", bytes(key.secret.view()))
    version = standin.keys["disk-kek"][-1].version
    assert key.token["type"] == "azure-keyvault" and key.token["keyslots"] == ["0"]
    assert key.token["key_id"] == f"{standin.vault_url}/keys/disk-kek/{version}"
    assert key.token["alg"] == "RSA-OAEP-256"
    standin.add_rsa_key("disk-kek")  # rotation: the token names the version that wrapped it
    with unwrap_volume_key(key.token, vault) as unwrapped:
        assert bytes(unwrapped.view()) == bytes(key.secret.view())
    assert time.monotonic() - started < 5
    assert ("POST", f"/keys/disk-kek/{version}/unwrapkey") in standin.requests


def test_recovery_key_is_escrowed_with_tags(standin: StandIn) -> None:
    enc = Encryption(enabled=True, key_source="keyvault-key", vault_url=standin.vault_url, key_name="disk-kek")
    recovery = new_recovery_key()
    text = recovery.text()
    assert len(text) == 71 and text.count("-") == 7 and set(text) <= set("cbdefghijklnrtuv-")
    where = escrow_recovery_key(enc, client(standin), recovery, luks_uuid="1234-uuid", hostname="web-01",
                                mount="/", console=None)
    stored = standin.secrets["luks-recovery-web-01-root"][-1]
    assert stored.value == text and text not in where
    assert stored.tags == {"luks-uuid": "1234-uuid", "hostname": "web-01", "volume": "/",
                           "purpose": "luks-recovery-key"}
    assert where.startswith("recovery key for / escrowed as Key Vault secret https://127.0.0.1:")
    assert recovery_secret_name(enc, "web-01", "/srv/data") == "luks-recovery-web-01-srv-data"


def test_recovery_key_printed_once_when_the_profile_says_so() -> None:
    enc = Encryption(enabled=True, passphrase="x", recovery=Recovery(escrow="print"))
    console = io.StringIO()
    recovery = new_recovery_key()
    where = escrow_recovery_key(enc, None, recovery, luks_uuid="u", hostname="h", mount="/", console=console)
    assert recovery.text() in console.getvalue() and recovery.text() not in where
    assert where == "recovery key for / shown once on the console (not saved)"
