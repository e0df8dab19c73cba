"""Encrypting the target's volumes during an install.

Order matters for safety: the volume key is obtained and every recovery key escrowed (or shown)
in prepare(), BEFORE the storage step writes anything, so a vault that refuses, a wrong key type
or a missing role stops the install with the disks untouched. The LUKS UUIDs are chosen here for
that reason: the escrowed secret is tagged with the UUID the volume will have. The storage step
then formats and opens each volume (encrypt()), filesystems go onto the opened mapping, and the
mappings are closed after the target is unmounted.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from installer.core.events import EventBus
from installer.core.runner import Runner
from installer.core.secrets import KeyDir, SecretBytes
from installer.keyvault.client import VaultClient, vault_settings
from installer.keyvault.identity import Credential
from installer.keyvault.keysource import escrow_recovery_key, new_recovery_key, obtain_volume_key
from profiles.model import Encryption
from storage.luks import (
    EncryptedPartition,
    LuksVolume,
    VolumeKey,
    close_argv,
    format_volume,
    luks_settings,
    open_argv,
    tpm2_enroll_argv,
)


def vault_client(enc: Encryption) -> VaultClient | None:
    """A Key Vault client for the profile's vault and identity, or None without a vault."""
    if not enc.vault_url:
        return None
    settings = vault_settings(enc)
    return VaultClient(enc.vault_url, Credential(enc.identity, connection_verify=settings.connection_verify),
                       settings)


@dataclass
class VolumeEncryptor:
    """Holds the volume key and recovery keys in memory (tmpfs files only while cryptsetup reads them)."""

    enc: Encryption
    hostname: str
    runner: Runner
    events: EventBus
    keys: KeyDir
    console: TextIO | None = None
    volumes: list[LuksVolume] = field(default_factory=list)
    opened: list[LuksVolume] = field(default_factory=list)
    _key: VolumeKey | None = None
    _recovery: dict[str, tuple[str, str, SecretBytes]] = field(default_factory=dict)  # device -> (mount, uuid, key)

    def prepare(self, partitions: Sequence[EncryptedPartition]) -> None:
        """Get the key and escrow the recovery keys; raises (one line) before any disk is written."""
        vault = vault_client(self.enc)
        try:
            self._key = obtain_volume_key(self.enc, vault)
            self.events.log(f"volume key from {self._key.source}")
            if "keyvault" in self.enc.unlock and self.enc.key_source == "keyvault-secret":
                _check_passphrase_for_initramfs(self._key.secret)
            for part in partitions:
                volume_uuid = str(uuid.uuid4())
                recovery = new_recovery_key()
                self._recovery[part.device] = (part.mount, volume_uuid, recovery)
                where = escrow_recovery_key(self.enc, vault, recovery, luks_uuid=volume_uuid,
                                            hostname=self.hostname, mount=part.mount,
                                            console=self.console if self.console is not None else sys.stderr)
                self.events.log(where)
        finally:
            if vault is not None:
                vault.close()

    def data_device(self, device: str) -> str:
        """Where a partition's filesystem goes: for a chosen one, its new LUKS2 volume, formatted and
        opened now (the mapper device); any other partition is returned as it is."""
        if device not in self._recovery:
            return device
        assert self._key is not None, "prepare() first"
        mount, volume_uuid, recovery = self._recovery[device]
        self.events.log(f"encrypting {device} ({mount}) with LUKS2")
        settings = luks_settings(self.enc)
        started = time.monotonic()
        volume = format_volume(device, mount, self._key, recovery, settings, self.keys, self.runner, self.events,
                               uuid=volume_uuid)
        formatted = time.monotonic()
        self.volumes.append(volume)
        key_file = self.keys.write("open.key", self._key.secret)
        try:
            self.runner.run(open_argv(volume, key_file, discard=True))
        finally:
            self.keys.shred(key_file)
        self.opened.append(volume)
        # The times are what `make bench` reports: format = luksFormat + the recovery slot.
        self.events.log(f"{device} opened as {volume.mapper_path} (format {formatted - started:.1f} s, "
                        f"open {time.monotonic() - formatted:.1f} s)")
        return volume.mapper_path

    def enroll_tpm2(self, pcrs: Sequence[int]) -> None:
        """Seal a new key slot of every volume to this machine's TPM 2.0 (systemd-cryptenroll, unlocked with
        the volume key through a tmpfs file shredded at once)."""
        assert self._key is not None, "prepare() first"
        for volume in self.volumes:
            started = time.monotonic()
            key_file = self.keys.write("enrol.key", self._key.secret)
            try:
                self.runner.run(tpm2_enroll_argv(volume, key_file, pcrs))
            finally:
                self.keys.shred(key_file)
            # The time is what `make bench` reports as the enrolment.
            self.events.log(f"{volume.device} ({volume.mount}): TPM2 key slot enrolled in "
                            f"{time.monotonic() - started:.1f} s")

    def close_all(self, devices: Collection[str] | None = None) -> list[str]:
        """Close the opened mappings (after unmounting), or only those on these devices (the LUKS2 volumes on
        logical volumes go before their volume group is deactivated); returns those that stayed open."""
        failed = []
        for volume in reversed(self.opened):
            if devices is not None and volume.device not in devices:
                continue
            if self.runner.run(close_argv(volume), check=False).returncode != 0:
                failed.append(volume.mapper_path)
        self.opened = [v for v in self.opened if devices is not None and v.device not in devices]
        return failed

    def wipe(self) -> None:
        if self._key is not None:
            self._key.wipe()
        for _, _, key in self._recovery.values():
            key.wipe()



def _check_passphrase_for_initramfs(secret: SecretBytes) -> None:
    # The initramfs reads the secret's JSON with sed (there is no JSON parser there), which cannot undo
    # escapes: refuse such a passphrase now, before any disk is written, rather than fail at boot.
    if any(b in (0x22, 0x5C) or b < 0x20 for b in secret.view()):  # '"', '\\', control characters
        raise ValueError("unlock keyvault reads the Key Vault secret in the initramfs, which cannot handle a "
                         "passphrase with quotes, backslashes or control characters: choose another passphrase "
                         "or key_source keyvault-key")


