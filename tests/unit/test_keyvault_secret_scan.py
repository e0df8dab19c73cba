"""Every secret used in an encrypted-volume flow is looked for in logs, events, the saved profile and the plan."""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path

import pytest

from installer.core.events import EventBus, HumanLogReporter, JsonLinesReporter
from installer.core.runner import RecordingRunner, Reply
from installer.core.secrets import KeyDir
from installer.keyvault.client import Retry, VaultClient, VaultSettings
from installer.keyvault.identity import Credential
from installer.keyvault.keysource import escrow_recovery_key, new_recovery_key, obtain_volume_key
from installer.plan import make_plan, plan_json
from profiles import dump_profile, profile_from_text
from storage.inventory import DiskInfo, Inventory
from storage.luks import format_volume, luks_settings
from tests.support.keyvault_standin import StandIn
from tests.support.vault import SP_ID, SP_SECRET, VAULT_PASSPHRASE

PROFILE_PASSPHRASE = "typed-into-the-profile-Wv3"
BASE = """\
storage:
  disks: [{serial: OS}]
  auto: {boot: bios}
payload: {image: {path: /srv/root.tar}}
system: {hostname: web-01}
"""
SOURCES = {
    "passphrase": f"encryption: {{enabled: true, passphrase: {PROFILE_PASSPHRASE}, recovery: {{escrow: keyvault}}, "
                  "vault_url: VAULT, identity: IDENTITY}\n",
    "keyvault-secret": "encryption: {enabled: true, key_source: keyvault-secret, vault_url: VAULT, "
                       "key_name: disk-passphrase, identity: IDENTITY}\n",
    "keyvault-key": "encryption: {enabled: true, key_source: keyvault-key, vault_url: VAULT, key_name: disk-kek, "
                    "identity: IDENTITY, pbkdf: {memory: 32MiB, iter_time: 100}}\n",
}


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_no_secret_reaches_logs_events_profile_or_plan(source: str, standin: StandIn, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # the Azure SDK's own request logging included
    identity = (f"{{kind: service-principal, tenant_id: {standin.tenant_id}, client_id: {SP_ID}, "
                f"client_secret: {SP_SECRET}, authority: '{standin.authority}'}}")
    text = BASE + SOURCES[source].replace("VAULT", f"'{standin.vault_url}'").replace("IDENTITY", identity)
    profile = profile_from_text(text)
    enc = profile.encryption
    assert enc is not None
    human, jsonl = io.StringIO(), io.StringIO()
    events = EventBus(HumanLogReporter(human), JsonLinesReporter(jsonl))
    runner = RecordingRunner()
    runner.reply(["cryptsetup", "luksUUID"], Reply(output="5f0c2a1e-8d3b-4c55-9a0e-3b1f0f7e2d11\n"))
    vault = VaultClient(enc.vault_url or "", Credential(enc.identity, connection_verify=str(standin.ca.ca_pem),
                                                        retry_total=0, timeout=3),
                        VaultSettings(connection_verify=str(standin.ca.ca_pem), verify_challenge_resource=False,
                                      timeout=3, retry=Retry(attempts=2, base_delay=0.01)))
    key = obtain_volume_key(enc, vault)
    recovery = new_recovery_key()
    used = [SP_SECRET, key.secret.text() if source != "keyvault-key" else key.secret.view().hex(),
            recovery.text(), base64.b64encode(bytes(key.secret.view())).decode()]
    with KeyDir(tmp_path, require_tmpfs=False) as keys:
        volume = format_volume("/dev/vda3", "/", key, recovery, luks_settings(enc), keys, runner, events)
    events.log(escrow_recovery_key(enc, vault, recovery, luks_uuid=volume.uuid, hostname="web-01", mount="/",
                                   console=None))
    key.wipe()
    recovery.wipe()
    plan = make_plan(profile, Inventory((DiskInfo("/dev/vda", 16 * 1024**3, serial="OS"),)))
    places = {
        "human log": human.getvalue(), "events": jsonl.getvalue(), "python logging": caplog.text,
        "saved profile": dump_profile(profile, redact=True), "plan": plan.render() + plan_json(plan),
        "commands": "\n".join(runner.commands()),
    }
    assert "escrowed as Key Vault secret" in human.getvalue()
    assert "POST" in caplog.text or "GET" in caplog.text  # the SDK's logging was captured
    for secret in [*used, VAULT_PASSPHRASE, PROFILE_PASSPHRASE]:
        for place, content in places.items():
            assert secret not in content, f"a secret leaked into the {place}"
    assert bytes(key.secret.view()) == bytes(len(key.secret))  # wiped
