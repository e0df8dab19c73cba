"""What an encrypted install will do, for the plan: which partitions, and the plan's first step.

Kept apart from installer/encryption.py, which carries it out, so that planning (the CLI's
`plan`, the UI's Review) does not import the Azure SDK (about 0.2 s and 20 MB).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from installer.unlock import target_files
from profiles.model import Encryption
from storage.layout import StoragePlan


@dataclass(frozen=True)
class EncryptedPartition:
    device: str  # the partition, e.g. /dev/vda3
    mount: str  # what it holds, for messages and the recovery secret's name ("/" for a btrfs / + /home)


def encrypted_partitions(plan: StoragePlan, volumes: Sequence[str]) -> list[EncryptedPartition]:
    """The partitions holding the chosen mount points (a btrfs partition counts once, by its first match)."""
    found = []
    for target in plan.targets:
        for part in target.partitions:
            mounts = [m for m in (part.mount, *(sv.mount for sv in part.subvolumes)) if m]
            chosen = [m for m in mounts if m in volumes]
            if chosen:
                found.append(EncryptedPartition(part.device(target.disk.path), chosen[0]))
    return found


def encryption_step(enc: Encryption, plan: StoragePlan, hostname: str) -> tuple[str, str, tuple[str, ...]]:
    """The plan's step that runs before any disk is written; (id, title, details)."""
    escrow = enc.recovery_escrow()
    if escrow == "keyvault":
        where = f"escrowed in {enc.vault_url} as a secret tagged with the LUKS UUID and host name {hostname}"
    else:
        where = "shown once on the console, saved nowhere"
    key = {"passphrase": "the profile's passphrase", "keyvault-secret": f"Key Vault secret '{enc.key_name}'",
           "keyvault-key": f"a random key wrapped by Key Vault key '{enc.key_name}' (RSA-OAEP-256), kept in a "
                           "LUKS2 token"}[enc.key_source]
    details = [f"volume key: {key}", f"recovery key: one per volume, {where}"]
    details += [f"LUKS2 on {p.device} ({p.mount}): {enc.cipher} {enc.key_size}-bit, {enc.pbkdf.type}"
                for p in encrypted_partitions(plan, enc.volumes)]
    details.append("unlock at boot: " + ", then ".join(enc.unlock))
    details.append("writes " + ", ".join(target_files(enc)))
    return ("encryption-keys", "Get the volume key and escrow recovery keys (before any disk is written)",
            tuple(details))
