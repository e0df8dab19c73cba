"""Encryption keys: get the volume key and escrow every recovery key BEFORE any disk is written.

A vault that refuses, a missing role or a wrong key type stops the install here with the disks
untouched. The LUKS UUIDs are chosen now so that each escrowed recovery secret is tagged with the
UUID its volume will have. The volumes themselves are formatted and opened by the storage step
(through ctx.encrypted.data_device) and closed after the target is unmounted.
"""

from __future__ import annotations

from pathlib import Path

from installer.core.secrets import KeyDir
from installer.steps.base import InstallContext, PlanContext, Step
from profiles import Problem, Profile
from profiles.model import Encryption
from storage.luks import device_mapper_available, encrypted_partitions, tpm2_available

_REMOVE_HINT = "; or remove the section (an unencrypted install is never made silently)"


def enabled(profile: Profile) -> Encryption | None:
    enc = profile.encryption
    return enc if enc is not None and enc.enabled else None


def refusals(profile: Profile, *, device_mapper: bool | None = None, tpm2: bool | None = None) -> list[Problem]:
    """What the profile's encryption asks for that this machine or version cannot do: refuse, never pretend."""
    enc = enabled(profile)
    if enc is None:
        return []
    if device_mapper is None:
        device_mapper = device_mapper_available()
    reasons = []
    if not device_mapper:
        reasons.append("this kernel has no device-mapper (dm-crypt; no 'device-mapper' in /proc/misc), so a LUKS "
                       "volume cannot be opened here; install from the ISO in a VM")
    if "tpm2" in enc.unlock and profile.payload.image is not None:
        reasons.append("unlock tpm2 needs systemd-cryptsetup in the initramfs (dracut, a system dnf builds); an image "
                       "payload boots with initramfs-tools here: use keyvault and/or passphrase")
    elif "tpm2" in enc.unlock and not (tpm2_available() if tpm2 is None else tpm2):
        reasons.append("unlock tpm2: this machine has no TPM 2.0 (nothing in /sys/class/tpmrm): turn on the VM's "
                       "vTPM (Azure: a Trusted Launch VM; QEMU: azl-installer vm --tpm), or use keyvault and/or "
                       "passphrase")
    problems = [Problem(("encryption",), reason + _REMOVE_HINT) for reason in reasons]
    if enc.ca_bundle and not Path(enc.ca_bundle).is_file():
        # read at install time (vault TLS) and copied into the target: missing, it would fail mid-install
        problems.append(Problem(("encryption", "ca_bundle"), f"{enc.ca_bundle} is not a readable file"))
    return problems


class EncryptionKeysStep(Step):
    id = "encryption-keys"
    title = "Get the volume key and escrow recovery keys (before any disk is written)"
    doing = "getting the volume key and escrowing recovery keys"

    def applies(self, profile: Profile) -> bool:
        return enabled(profile) is not None

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        enc = enabled(plan.profile)
        assert enc is not None
        if enc.recovery_escrow() == "keyvault":
            where = (f"escrowed in {enc.vault_url} as a secret tagged with the LUKS UUID and host name "
                     f"{plan.profile.system.hostname}")
        else:
            where = "shown once on the console, saved nowhere"
        key = {"passphrase": "the profile's passphrase", "keyvault-secret": f"Key Vault secret '{enc.key_name}'",
               "keyvault-key": f"a random key wrapped by Key Vault key '{enc.key_name}' (RSA-OAEP-256), kept in a "
                               "LUKS2 token"}[enc.key_source]
        return (f"volume key: {key}", f"recovery key: one per volume, {where}",
                *(f"LUKS2 on {p.device} ({p.mount}): {enc.cipher} {enc.key_size}-bit, {enc.pbkdf.type}"
                  for p in encrypted_partitions(plan.storage, enc.volumes)))

    def blockers(self, plan: PlanContext) -> list[Problem]:
        return refusals(plan.profile, device_mapper=plan.device_mapper, tpm2=plan.tpm2)

    def run(self, ctx: InstallContext) -> None:
        enc = enabled(ctx.profile)
        assert enc is not None
        # Imported here on purpose: the Azure SDK (0.2 s, 20 MB) loads only for encrypted installs.
        from installer.encryption import VolumeEncryptor

        keys = ctx.cleanup.enter_context(KeyDir())
        encryptor = VolumeEncryptor(enc, ctx.profile.system.hostname, ctx.runner, ctx.events, keys)
        ctx.cleanup.callback(encryptor.wipe)
        ctx.encrypted = encryptor
        encryptor.prepare(encrypted_partitions(ctx.storage, enc.volumes))
