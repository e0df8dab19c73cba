"""Where a volume's key comes from (passphrase, Key Vault secret, wrapped key) and where recovery keys go.

The key is what unlocks LUKS key slot 0: the passphrase itself, the passphrase read from a
Key Vault secret, or (keyvault-key) a random key whose wrapped form is kept in the
volume's LUKS2 token. A recovery key is always made for its own slot; it is escrowed as a
Key Vault secret tagged with the LUKS UUID and host name, or shown once on the console.
Neither ever goes through the event bus or a log.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, TextIO

from installer.core.secrets import SecretBytes
from installer.keyvault.client import VaultClient, WrappedKey
from installer.keyvault.errors import VaultError
from profiles.model import Encryption
from storage.luks import UNLOCK_SLOT, VolumeKey

# keyvault-key: 64 random characters of the base64 alphabet (384 bits). Text, because systemd-cryptsetup takes
# a passphrase as a C string through the ask-password protocol, where the dracut unlock agent answers it: raw
# bytes could hold a NUL or a newline. The initramfs-tools keyscript prints the same text.
VOLUME_KEY_CHARS = 64
_KEY_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_MODHEX = "cbdefghijklnrtuv"  # systemd's recovery key alphabet: unambiguous on any keyboard layout


def obtain_volume_key(enc: Encryption, vault: VaultClient | None) -> VolumeKey:
    if enc.key_source == "passphrase":
        if not enc.passphrase:
            raise ValueError("encryption.passphrase is empty")
        return VolumeKey(SecretBytes.from_text(enc.passphrase), None, "the profile's passphrase")
    if vault is None or not enc.key_name:
        raise ValueError(f"key_source {enc.key_source} needs vault_url and key_name")
    if enc.key_source == "keyvault-secret":
        secret = vault.get_secret(enc.key_name, enc.key_version)
        if not len(secret):
            raise VaultError(f"secret '{enc.key_name}' in {vault.vault_url} is empty: it must hold the passphrase",
                             kind="bad-request")
        # The token names the secret (never its value) for unlock keyvault in the initramfs.
        name = f"{enc.key_name}/{enc.key_version}" if enc.key_version else enc.key_name
        token = {"type": "azure-keyvault", "keyslots": [UNLOCK_SLOT], "vault_url": vault.vault_url, "secret": name}
        return VolumeKey(secret, token, f"Key Vault secret '{enc.key_name}'")
    # Drawn straight into the buffer SecretBytes wipes: no other copy of the key is made.
    key = SecretBytes(bytearray(secrets.choice(_KEY_ALPHABET) for _ in range(VOLUME_KEY_CHARS)))
    try:
        wrapped = vault.wrap_key(enc.key_name, key, enc.key_version)
    except BaseException:
        key.wipe()
        raise
    return VolumeKey(key, wrapped.to_token(vault.vault_url, [UNLOCK_SLOT]), f"Key Vault key '{enc.key_name}'")


def unwrap_volume_key(token: dict[str, Any], vault: VaultClient) -> SecretBytes:
    """The boot-time (and recovery tooling) path: the token's wrapped key, unwrapped by the vault."""
    return vault.unwrap_key(WrappedKey.from_token(token))


def new_recovery_key() -> SecretBytes:
    """256 random bits as 8 groups of 8 modhex characters (the format systemd-cryptenroll uses)."""
    raw = bytearray(secrets.token_bytes(32))
    chars = bytearray()
    for byte in raw:
        chars += (_MODHEX[byte >> 4] + _MODHEX[byte & 15]).encode()
    raw[:] = bytes(len(raw))
    text = bytearray(b"-".join(bytes(chars[i:i + 8]) for i in range(0, len(chars), 8)))
    chars[:] = bytes(len(chars))
    return SecretBytes(text)


def recovery_secret_name(enc: Encryption, hostname: str, mount: str) -> str:
    if enc.recovery.secret_name:
        return enc.recovery.secret_name if mount == "/" else f"{enc.recovery.secret_name}-{_slug(mount)}"
    return f"luks-recovery-{_slug(hostname)}-{_slug(mount)}"[:127]


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "-", text).strip("-") or "root"


def escrow_recovery_key(enc: Encryption, vault: VaultClient | None, key: SecretBytes, *, luks_uuid: str,
                        hostname: str, mount: str, console: TextIO | None) -> str:
    """Escrow (or show once) the recovery key; returns where it went, for the log (never the key)."""
    if enc.recovery_escrow() == "keyvault":
        if vault is None:
            raise ValueError("recovery escrow to Key Vault needs vault_url")
        name = recovery_secret_name(enc, hostname, mount)
        secret_id = vault.set_secret(name, key, content_type="text/plain; luks-recovery-key", tags={
            "luks-uuid": luks_uuid, "hostname": hostname, "volume": mount, "purpose": "luks-recovery-key"})
        return f"recovery key for {mount} escrowed as Key Vault secret {secret_id}"
    if console is None:
        raise ValueError("recovery.escrow print needs a console to show the key on")
    console.write(f"\n*** Recovery key for {mount} (LUKS UUID {luks_uuid}) on {hostname}. It is shown only "
                  f"this once and is not saved anywhere: write it down.\n\n    {key.text()}\n\n")
    console.flush()
    return f"recovery key for {mount} shown once on the console (not saved)"
