"""LUKS2 commands (pinned argv through RecordingRunner), settings, crypttab, the plan's refusal, profile checks."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from installer.core.events import Event, EventBus
from installer.core.runner import RecordingRunner, Reply
from installer.core.secrets import KeyDir, SecretBytes, filesystem_type
from installer.keyvault.client import WrappedKey
from installer.plan import make_plan
from installer.steps.encryption_keys import refusals
from profiles import ProfileError, profile_from_text
from profiles.model import Encryption, Payload, Pbkdf
from profiles.sizes import GiB, MiB
from storage.inventory import DiskInfo, Inventory
from storage.luks import (
    LuksVolume,
    VolumeKey,
    crypttab_line,
    device_mapper_available,
    format_volume,
    kernel_arguments,
    luks_settings,
)

UUID = "5f0c2a1e-8d3b-4c55-9a0e-3b1f0f7e2d11"
PROFILE = """\
storage:
  disks: [{serial: OS}]
  auto: {boot: bios}
payload: {image: {path: /srv/root.tar}}
"""
INVENTORY = Inventory((DiskInfo("/dev/vda", 16 * GiB, serial="OS"),))


def test_argon2_memory_is_sized_from_ram_with_a_cap() -> None:
    enc = Encryption(enabled=True, passphrase="x")
    assert luks_settings(enc, ram=2 * GiB, cpus=2).memory_kib == 512 * 1024  # a quarter of the RAM
    assert luks_settings(enc, ram=24 * GiB, cpus=2).memory_kib == 1024 * 1024  # capped at 1 GiB
    assert luks_settings(enc, ram=128 * MiB, cpus=2).memory_kib == 64 * 1024  # at least 64 MiB
    small = luks_settings(Encryption(enabled=True, pbkdf=Pbkdf(memory=4 * GiB)), ram=2 * GiB, cpus=8)
    assert small.memory_kib == 1024 * 1024 and small.parallel == 4  # never over half the RAM; at most 4 threads
    pbkdf2 = luks_settings(Encryption(enabled=True, pbkdf=Pbkdf(type="pbkdf2")), ram=GiB, cpus=2)
    assert pbkdf2.memory_kib is None and pbkdf2.pbkdf_args() == ["--pbkdf", "pbkdf2", "--iter-time", "2000"]


def test_format_volume_runs_pinned_commands_with_keys_only_in_files(tmp_path: Path) -> None:
    runner = RecordingRunner()
    runner.reply(["cryptsetup", "luksUUID"], Reply(output=UUID + "\n"))
    seen_files: dict[str, tuple[int, bytes]] = {}

    def capture(argv: tuple[str, ...]) -> None:
        for arg in argv:
            if arg.endswith(".key"):
                seen_files[Path(arg).name] = (stat.S_IMODE(os.stat(arg).st_mode), Path(arg).read_bytes())

    runner.reply(["cryptsetup", "luksFormat"], Reply(effect=capture))
    runner.reply(["cryptsetup", "luksAddKey"], Reply(effect=capture))
    events: list[Event] = []
    settings = luks_settings(Encryption(enabled=True, passphrase="x"), ram=2 * GiB, cpus=2)
    token = {"type": "azure-keyvault", "keyslots": ["0"], "key_id": "https://v/keys/k/1", "alg": "RSA-OAEP-256",
             "wrapped_key": "AAAA", "vault_url": "https://v"}
    key = VolumeKey(SecretBytes(b"K" * 64), token, "Key Vault key 'k'")
    with KeyDir(tmp_path, require_tmpfs=False) as keys:
        volume = format_volume("/dev/vda3", "/", key, SecretBytes(b"recovery-key"), settings, keys, runner,
                               EventBus(events.append))
        assert list(keys.path.iterdir()) == []  # shredded at once
        key_dir = keys.path
    assert not key_dir.exists()
    assert volume == LuksVolume("/dev/vda3", UUID, "/")
    assert runner.commands() == [
        "cryptsetup luksFormat --batch-mode --type luks2 --cipher aes-xts-plain64 --key-size 512 --hash sha256 "
        f"--pbkdf argon2id --iter-time 2000 --pbkdf-memory 524288 --pbkdf-parallel 2 --key-slot 0 "
        f"--key-file {key_dir}/volume.key /dev/vda3",
        "cryptsetup luksAddKey --batch-mode --pbkdf argon2id --iter-time 2000 --pbkdf-memory 524288 "
        f"--pbkdf-parallel 2 --key-file {key_dir}/volume.key --new-key-slot 1 /dev/vda3 {key_dir}/recovery.key",
        "cryptsetup token import /dev/vda3",
        "cryptsetup luksUUID /dev/vda3",
    ]
    assert seen_files == {"volume.key": (0o600, b"K" * 64), "recovery.key": (0o600, b"recovery-key")}
    assert [e.message for e in events] == [
        f"/dev/vda3: LUKS2 volume {UUID} for / (aes-xts-plain64 512-bit, argon2id, 512 MiB, 2 threads, 2000 ms); "
        "key from Key Vault key 'k' in slot 0, recovery key in slot 1; wrapped key kept in an azure-keyvault token"]


def test_key_dir_is_private_and_refuses_a_disk_backed_parent(tmp_path: Path) -> None:
    with KeyDir(tmp_path, require_tmpfs=False) as keys:
        path = keys.write("a.key", SecretBytes(b"abc"))
        assert stat.S_IMODE(keys.path.stat().st_mode) == 0o700 and stat.S_IMODE(path.stat().st_mode) == 0o600
    mounts = "overlay / overlay rw 0 0\ntmpfs /run tmpfs rw 0 0\n"
    assert filesystem_type(Path("/run/azl-installer"), mounts) == "tmpfs"
    assert filesystem_type(Path("/var/tmp"), mounts) == "overlay"
    if filesystem_type(tmp_path) not in ("tmpfs", "ramfs"):
        with pytest.raises(OSError, match="is not on tmpfs: refusing to write key material to a disk"):
            KeyDir(tmp_path).__enter__()


def test_secret_bytes_never_show_and_are_wiped() -> None:
    source = bytearray(b"top-secret")
    secret = SecretBytes(source)
    assert source == bytearray(10)  # the caller's copy is consumed
    assert repr(secret) == str(secret) == "<secret: 10 bytes>"
    with secret:
        assert secret.text() == "top-secret"
    assert bytes(secret.view()) == bytes(10)


def test_crypttab_and_kernel_arguments() -> None:
    volume = LuksVolume("/dev/vda3", UUID, "/")
    debian = "initramfs-tools"
    assert crypttab_line(volume, ["passphrase"], debian) == f"luks-{UUID} UUID={UUID} none luks,discard,initramfs"
    assert crypttab_line(volume, ["keyvault", "passphrase"], debian).endswith(
        " none luks,discard,initramfs,keyscript=/usr/lib/azl-installer/unlock-keyvault")
    dracut = f"luks-{UUID} UUID={UUID} none luks,discard,x-initrd.attach"
    assert crypttab_line(volume, ["passphrase"], "dracut") == dracut
    assert crypttab_line(volume, ["tpm2", "passphrase"], "dracut") == dracut + ",tpm2-device=auto"
    # tpm2 alone still asks on the console when the TPM cannot unseal (the recovery key). keyvault alone asks
    # too: the Key Vault agent answers (the dracut module leaves the console agent out).
    assert crypttab_line(volume, ["tpm2"], "dracut") == dracut + ",tpm2-device=auto"
    assert crypttab_line(volume, ["keyvault"], "dracut") == dracut
    assert kernel_arguments([volume]) == [f"rd.luks.uuid={UUID}"]
    assert volume.mapper_path == f"/dev/mapper/luks-{UUID}"


def test_device_mapper_detection() -> None:
    assert device_mapper_available(" 236 device-mapper\n 183 hw_random\n")
    assert not device_mapper_available(" 183 hw_random\n 229 fuse\n")
    assert not device_mapper_available("", control=Path("/dev/null"))  # a stale node does not count


def test_plan_refuses_encryption_without_device_mapper_and_names_it() -> None:
    enc = Encryption(enabled=True, passphrase="s3cret", unlock=("tpm2", "passphrase"))
    base = profile_from_text(PROFILE)
    host = [str(p) for p in refusals(replace(base, encryption=enc), device_mapper=False)]
    assert host[0].startswith("encryption: this kernel has no device-mapper (dm-crypt; no 'device-mapper' in "
                              "/proc/misc)")
    assert host[1].startswith("encryption: unlock tpm2 needs systemd-cryptsetup in the initramfs")  # image payload
    rpm_tpm2 = replace(base, encryption=enc, payload=Payload(groups=("core",)))
    assert refusals(rpm_tpm2, device_mapper=True, tpm2=True) == []
    [no_tpm] = refusals(rpm_tpm2, device_mapper=True, tpm2=False)
    assert no_tpm.message.startswith("unlock tpm2: this machine has no TPM 2.0 (nothing in /sys/class/tpmrm): turn "
                                     "on the VM's vTPM")
    assert refusals(replace(base, encryption=Encryption(enabled=True, passphrase="s3cret")), device_mapper=True) == []
    keyvault = Encryption(enabled=True, key_source="keyvault-key", vault_url="https://v.vault.azure.net",
                          key_name="k", unlock=("keyvault", "passphrase"))
    assert refusals(replace(base, encryption=keyvault), device_mapper=True) == []
    # and on dracut targets too (the azl-unlock dracut module)
    assert refusals(replace(base, encryption=keyvault, payload=Payload(groups=("core",))), device_mapper=True) == []
    assert refusals(replace(base, encryption=Encryption(enabled=False)), device_mapper=False) == []
    plan = make_plan(profile_from_text(PROFILE + "encryption: {enabled: true, passphrase: s3cret}\n"), INVENTORY)
    assert [b for b in plan.blockers if b.section == "encryption"] == refusals(plan.profile)
    assert "s3cret" not in plan.render()


@pytest.mark.parametrize(("text", "expected"), [
    ("{enabled: true, passphrase: x, volumes: [/boot]}",
     "encryption.volumes[0]: /boot is never encrypted: the firmware and boot loader must read it"),
    ("{enabled: true, passphrase: x, volumes: [/srv]}",
     "encryption.volumes[0]: '/srv' is not a mount point of the layout (encryptable: /)"),
    ("{enabled: true, key_source: keyvault-secret, vault_url: 'https://v.vault.azure.net', key_name: s, "
     "passphrase: x}", "encryption.passphrase: key_source keyvault-secret takes the key from Key Vault"),
    ("{enabled: true, key_source: keyvault-key, vault_url: 'https://v.vault.azure.net', key_name: 'a b'}",
     "encryption.key_name: 'a b' is not a Key Vault name"),
    ("{enabled: true, key_source: keyvault-key, vault_url: 'https://v.vault.azure.net', key_name: k, "
     "identity: {kind: service-principal, client_id: c}}",
     "encryption.identity.tenant_id: a service principal needs tenant_id"),
    ("{enabled: true, key_source: keyvault-key, vault_url: 'https://v.vault.azure.net', key_name: k, "
     "identity: {kind: service-principal, client_id: c, tenant_id: t}}",
     "encryption.identity: a service principal needs exactly one of client_secret and certificate_path"),
    ("{enabled: true, key_source: keyvault-key, vault_url: 'https://v.vault.azure.net', key_name: k, "
     "identity: {client_secret: s}}", "encryption.identity.client_secret: client_secret is only for kind: "
     "service-principal"),
    ("{enabled: true, passphrase: x, unlock: [tpm2, tpm2]}", "encryption.unlock[1]: 'tpm2' is listed twice"),
    ("{enabled: true, passphrase: x, vault_url: 'https://v.vault.azure.net', unlock: [keyvault]}",
     "encryption.unlock: unlock keyvault needs key_source keyvault-key or keyvault-secret"),
    ("{enabled: true, passphrase: x, unlock: [keyvault]}", "encryption.vault_url: a Key Vault URL must start"),
    ("{enabled: true, passphrase: x, unlock: []}", "encryption.unlock: choose at least one unlock method"),
    ("{enabled: true, passphrase: x, unlock: [tpm3]}", "encryption.unlock[0]: must be one of tpm2, keyvault, "
     "passphrase; got 'tpm3' (did you mean 'tpm2'?)"),
    ("{enabled: true, passphrase: x, pbkdf: {memory: 1MiB}}",
     "encryption.pbkdf.memory: argon2 memory must be between 32MiB and 4GiB"),
    ("{enabled: true, passphrase: x, pbkdf: {type: pbkdf2, memory: 64MiB}}",
     "encryption.pbkdf.memory: memory applies only to argon2i and argon2id"),
    ("{enabled: true, passphrase: x, pbkdf: {parallel: 9}}", "encryption.pbkdf.parallel: parallel must be between"),
    ("{enabled: true, passphrase: x, key_size: 128}", "encryption.key_size: XTS needs a key_size of 256 or 512"),
    ("{enabled: true, passphrase: x, recovery: {escrow: keyvault}}",
     "encryption.vault_url: a Key Vault URL must start with https://"),
])
def test_encryption_profile_mistakes(text: str, expected: str) -> None:
    with pytest.raises(ProfileError) as info:
        profile_from_text(PROFILE + f"encryption: {text}\n", "p.yaml")
    assert expected in str(info.value)


def test_token_json_shape_is_what_cryptsetup_accepts() -> None:

    token = WrappedKey("https://v.vault.azure.net/keys/k/0123", "RSA-OAEP-256", b"\x01\x02").to_token(
        "https://v.vault.azure.net", ["0"])
    assert json.loads(json.dumps(token))["keyslots"] == ["0"]
    assert WrappedKey.from_token(token).blob == b"\x01\x02"
