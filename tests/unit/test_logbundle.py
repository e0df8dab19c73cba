"""The log bundle and the saved profile: contents, no secret anywhere, no silent overwrite, one-line errors."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from installer.logbundle import Exists, SaveError, events_log_of, save_log_bundle, save_profile, secret_values
from installer.plan import make_plan
from profiles import profile_from_text
from storage.inventory import DiskInfo, Inventory

PASSPHRASE = "bundle-test-passphrase-1"
SP_SECRET = "bundle-test-sp-secret-2"
CERT_PASSWORD = "bundle-test-cert-pw-3"
PROFILE = f"""\
storage:
  disks: [{{path: /dev/vda}}]
payload:
  repositories: [{{name: base, baseurl: "file:///srv/repo"}}]
  packages: [bash]
encryption:
  enabled: true
  key_source: keyvault-secret
  vault_url: https://v.vault.azure.net
  key_name: disk
  identity: {{kind: service-principal, tenant_id: t, client_id: c, client_secret: {SP_SECRET}}}
"""
SECRETS = (SP_SECRET, PASSPHRASE, CERT_PASSWORD)


@pytest.fixture
def plan():  # type: ignore[no-untyped-def]
    profile = profile_from_text(PROFILE, "p.yaml")
    return make_plan(profile, Inventory((DiskInfo(path="/dev/vda", size=20 * 1024**3),)))


def logs(tmp_path: Path) -> Path:
    log = tmp_path / "install-20260101-120000.log"
    log.write_text(f"12:00 [payload] started\n12:00 a careless line with {SP_SECRET} in it\n")
    events_log_of(log).write_text(f'{{"kind": "log", "message": "{SP_SECRET}"}}\n')
    return log


def test_secret_values_finds_every_secret_field(plan) -> None:  # type: ignore[no-untyped-def]
    assert list(secret_values(plan.profile)) == [SP_SECRET]


def test_the_bundle_holds_the_logs_plan_and_profile_and_no_secret(tmp_path: Path, plan) -> None:  # type: ignore[no-untyped-def]
    log = logs(tmp_path)
    bundle = save_log_bundle(plan, log, tmp_path / "logs.tar.gz")
    raw = bundle.read_bytes()
    with tarfile.open(bundle) as tar:
        members = {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers()}  # type: ignore[union-attr]
        assert all(m.mode == 0o600 for m in tar.getmembers())
    assert sorted(members) == ["logs/events.jsonl", "logs/install.log", "logs/plan.txt", "logs/profile.yaml"]
    assert "[payload] started" in members["logs/install.log"]
    assert "a careless line with <removed> in it" in members["logs/install.log"]
    assert "Install software" in members["logs/plan.txt"]
    assert "client_secret: <removed>" in members["logs/profile.yaml"]
    for secret in SECRETS:
        assert secret.encode() not in raw
        assert not any(secret in text for text in members.values())
    assert bundle.stat().st_mode & 0o777 == 0o600


def test_missing_logs_are_named_in_the_bundle(tmp_path: Path, plan) -> None:  # type: ignore[no-untyped-def]
    bundle = save_log_bundle(plan, None, tmp_path / "b.tar.gz")
    with tarfile.open(bundle) as tar:
        note = tar.extractfile("b/MISSING.txt").read().decode()  # type: ignore[union-attr]
    assert "install.log: no log was opened" in note


def test_no_overwrite_without_confirmation(tmp_path: Path, plan) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "p.yaml"
    target.write_text("mine")
    with pytest.raises(Exists, match=f"^{target} already exists$"):
        save_profile(plan.profile, target)
    assert target.read_text() == "mine"
    save_profile(plan.profile, target, overwrite=True)
    text = target.read_text()
    assert text.startswith("# The profile of this install (secrets removed)") and SP_SECRET not in text
    assert profile_from_text(text.replace("<removed>", "x"), "p.yaml").encryption is not None


@pytest.mark.parametrize(("name", "message"), [
    ("missing/p.yaml", "cannot write {tmp}/missing/p.yaml: the directory {tmp}/missing does not exist"),
    ("", "{tmp} is a directory: type a file name"),
])
def test_bad_paths_are_one_line(tmp_path: Path, plan, name: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SaveError) as info:
        save_log_bundle(plan, None, tmp_path / name if name else tmp_path)
    assert str(info.value) == message.format(tmp=tmp_path)


def test_a_directory_in_the_way_is_one_line(tmp_path: Path, plan) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "p.yaml").mkdir()
    with pytest.raises(SaveError) as info:
        save_profile(plan.profile, tmp_path / "p.yaml", overwrite=True)
    assert str(info.value) == f"{tmp_path}/p.yaml is a directory: type a file name"
