"""LUKS2 on the host (root): format a loop device over a sparse file, with the key from the Key Vault stand-in.

No device-mapper is needed: luksFormat, luksAddKey, token import, luksDump and --test-passphrase
work on this kernel; nothing is opened. The loop device is detached in a finally.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from installer.core.events import Event, EventBus
from installer.core.runner import RealRunner
from installer.core.secrets import KeyDir, SecretBytes
from installer.keyvault.client import Retry, VaultClient, VaultSettings
from installer.keyvault.identity import Credential
from installer.keyvault.keysource import new_recovery_key, obtain_volume_key, unwrap_volume_key
from profiles.model import Encryption, Pbkdf
from storage.luks import format_volume, key_opens, luks_metadata, luks_settings, token_of
from tests.support.keyvault_standin import StandIn

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root and loop devices"),
    pytest.mark.skipif(subprocess.run(["sh", "-c", "command -v cryptsetup"], capture_output=True).returncode != 0,
                       reason="needs cryptsetup (scripts/setup-host.sh installs cryptsetup-bin)"),
]
FAST = Pbkdf(memory=32 * 1024**2, iter_time=100)  # argon2id still, sized for a quick test


@pytest.fixture
def loop_device(loop_disk: Callable[[str, int], str]) -> str:
    return loop_disk("luks", 64 * 1024**2)


def test_envelope_encrypted_volume_on_a_loop_device(loop_device: str, standin: StandIn) -> None:
    events: list[Event] = []
    runner = RealRunner(EventBus(events.append))
    vault = VaultClient(standin.vault_url, Credential(Encryption().identity, retry_total=0, timeout=3),
                        VaultSettings(connection_verify=str(standin.ca.ca_pem), verify_challenge_resource=False,
                                      timeout=3, retry=Retry(attempts=2, base_delay=0.01)))
    enc = Encryption(enabled=True, key_source="keyvault-key", vault_url=standin.vault_url, key_name="disk-kek",
                     pbkdf=FAST)
    key = obtain_volume_key(enc, vault)
    recovery = new_recovery_key()
    with KeyDir() as keys:  # /run/azl-installer: tmpfs, checked
        started = time.monotonic()
        volume = format_volume(loop_device, "/", key, recovery, luks_settings(enc), keys, runner,
                               EventBus(events.append))
        formatted = time.monotonic() - started
        meta = luks_metadata(runner, loop_device)
        assert sorted(meta["keyslots"]) == ["0", "1"]
        assert {s["kdf"]["type"] for s in meta["keyslots"].values()} == {"argon2id"}
        assert {s["kdf"]["memory"] for s in meta["keyslots"].values()} == {32 * 1024}
        token = token_of(meta)
        assert token is not None and token["keyslots"] == ["0"] and token["alg"] == "RSA-OAEP-256"
        # The boot-time path: the header's token, unwrapped by the vault, opens slot 0.
        with unwrap_volume_key(token, vault) as unwrapped:
            assert key_opens(runner, loop_device, keys.write("unwrapped.key", unwrapped), slot="0")
        assert key_opens(runner, loop_device, keys.write("recovery.key", recovery), slot="1")
        assert not key_opens(runner, loop_device, keys.write("wrong.key", SecretBytes(b"not the key")))
    assert len(volume.uuid) == 36 and formatted < 30
    log = "\n".join(e.message for e in events)
    assert recovery.text() not in log and key.secret.view().hex() not in log


def test_passphrase_volume_on_a_sparse_file(tmp_path: Path) -> None:
    image = tmp_path / "plain.img"
    with image.open("wb") as handle:
        handle.truncate(32 * 1024**2)
    enc = Encryption(enabled=True, passphrase="correct horse battery staple", pbkdf=FAST)
    runner = RealRunner(EventBus())
    key = obtain_volume_key(enc, None)
    recovery = new_recovery_key()
    with KeyDir() as keys:
        format_volume(str(image), "/", key, recovery, luks_settings(enc), keys, runner, EventBus())
        assert token_of(luks_metadata(runner, str(image))) is None
        assert key_opens(runner, str(image), keys.write("typed.key", SecretBytes(b"correct horse battery staple")))
        assert key_opens(runner, str(image), keys.write("recovery.key", recovery))
