"""Encryption inside the engine, with a recording runner: the order that keeps disks safe, the commands,
the files written into the target, and what never reaches a command line, an event or the saved profile."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from installer.core.events import Event
from installer.core.runner import RecordingRunner, Reply
from installer.engine import Engine, InstallFailed
from installer.plan import make_plan
from profiles import profile_from_text
from storage.inventory import DiskInfo, Inventory
from tests.support.engine import ONE_DISK, recorded, recorded_engine
from tests.support.keyvault_standin import StandIn
from tests.support.targets import azure_linux_target

PASSPHRASE = "correct-horse-battery-staple"
PROFILE = ONE_DISK + """\
system: {hostname: vault-test}
bootloader: {enabled: false}
ENCRYPTION
"""
PASSPHRASE_ENCRYPTION = f"encryption: {{enabled: true, passphrase: {PASSPHRASE}, pbkdf: {{memory: 64MiB}}}}"


def _engine(tmp_path: Path, encryption: str) -> tuple[Engine, RecordingRunner, list[Event], Path, str]:
    return recorded_engine(tmp_path, PROFILE.replace("ENCRYPTION", encryption))


def test_root_is_encrypted_opened_formatted_mounted_and_closed(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    engine, runner, seen, root, disk = _engine(tmp_path, PASSPHRASE_ENCRYPTION)
    engine.run()
    started = [e.step for e in seen if e.kind == "step-started"]
    assert started[:2] == ["encryption-keys", "storage"]
    calls = runner.calls
    [fmt] = [c for c in calls if c[:2] == ("cryptsetup", "luksFormat")]
    assert fmt[-1] == f"{disk}3" and "--uuid" in fmt and "argon2id" in fmt
    uuid = fmt[fmt.index("--uuid") + 1]
    mapper = f"/dev/mapper/luks-{uuid}"
    assert ("mkfs.ext4", "-F", "-q", "-L", "root", mapper) in calls  # the filesystem goes inside the volume
    assert not [c for c in calls if c[0] == "mkfs.ext4" and c[-1] == f"{disk}3"]
    order = [c[:2] for c in calls if c[0] in ("wipefs", "cryptsetup", "mkfs.ext4", "mount", "umount")]
    assert order.index(("cryptsetup", "luksFormat")) < order.index(("cryptsetup", "luksAddKey")) \
        < order.index(("cryptsetup", "open"))
    mounts = [c for c in calls if c[0] == "mount"]
    assert mounts[0][-2:] == (mapper, str(root))
    assert calls[-1] == ("cryptsetup", "close", f"luks-{uuid}")  # closed after every umount
    # keys reach cryptsetup as files only, shredded afterwards
    assert all(PASSPHRASE not in " ".join(c) for c in calls)
    key_files = [c[c.index("--key-file") + 1] for c in calls if "--key-file" in c]
    assert key_files and all(not Path(f).exists() for f in key_files)
    assert (root / "etc/crypttab").read_text().splitlines()[-1] == \
        f"luks-{uuid} UUID={uuid} none luks,discard,initramfs"
    # the recovery key is shown once on the console (escrow print: no vault), never in events or files
    shown = re.search(r"\n    ([cbdefghijklnrtuv]{8}(-[cbdefghijklnrtuv]{8}){7})\n", capsys.readouterr().err)
    assert shown is not None
    recovery = shown.group(1)
    text = "\n".join(e.message for e in seen)
    assert recovery not in text and PASSPHRASE not in text
    saved = (root / "var/log/azl-installer/profile.yaml").read_text()
    assert PASSPHRASE not in saved and recovery not in saved


def test_a_vault_failure_stops_before_any_disk_is_written(tmp_path: Path, standin: StandIn) -> None:
    encryption = (f"encryption: {{enabled: true, key_source: keyvault-secret, vault_url: '{standin.vault_url}', "
                  f"key_name: no-such-secret, ca_bundle: '{standin.ca.ca_pem}'}}")
    engine, runner, seen, _, _ = _engine(tmp_path, encryption)
    with pytest.raises(InstallFailed) as info:
        engine.run()
    assert info.value.step == "encryption-keys"
    assert "no-such-secret" in info.value.message
    assert runner.calls == []  # nothing was wiped, partitioned or formatted


def test_keyvault_unlock_writes_the_initramfs_helpers_and_escrows_the_recovery_key(
        tmp_path: Path, standin: StandIn) -> None:
    encryption = (f"encryption: {{enabled: true, key_source: keyvault-key, vault_url: '{standin.vault_url}', "
                  f"key_name: disk-kek, ca_bundle: '{standin.ca.ca_pem}', unlock: [keyvault, passphrase], "
                  "pbkdf: {memory: 64MiB}}")
    # unlock keyvault is built for initramfs-tools targets: a root image (the plan refuses it for dnf builds).
    image = tmp_path / "root.tar"
    image.touch()
    text = PROFILE.replace("ENCRYPTION", encryption).replace(
        '  repositories: [{name: sample, baseurl: "file:///srv/sample", gpgcheck: false}]\n  groups: [core]\n',
        f"  image: {{path: '{image}'}}\n")
    engine, runner, seen, root, disk = recorded_engine(tmp_path, text)
    engine.run()
    [fmt] = [c for c in runner.calls if c[:2] == ("cryptsetup", "luksFormat")]
    uuid = fmt[fmt.index("--uuid") + 1]
    # escrowed before anything was written, tagged with the UUID the volume then got
    [escrowed] = standin.secrets["luks-recovery-vault-test-root"]
    assert escrowed.tags == {"luks-uuid": uuid, "hostname": "vault-test", "volume": "/",
                             "purpose": "luks-recovery-key"}
    assert [c[:3] for c in runner.calls if c[:3] == ("cryptsetup", "token", "import")]
    assert (root / "etc/crypttab").read_text().splitlines()[-1] == (
        f"luks-{uuid} UUID={uuid} none luks,discard,initramfs,keyscript=/usr/lib/azl-installer/unlock-keyvault")
    assert (root / "usr/lib/azl-installer/unlock-keyvault").stat().st_mode & 0o777 == 0o755
    assert (root / "etc/initramfs-tools/hooks/azl-unlock").stat().st_mode & 0o111
    conf = (root / "etc/azl-installer/unlock.conf").read_text()
    assert "AZL_UNLOCK_PASSPHRASE=yes" in conf and "AZL_UNLOCK_CA=/etc/azl-installer/keyvault-ca.pem" in conf
    assert (root / "etc/azl-installer/keyvault-ca.pem").read_bytes() == standin.ca.ca_pem.read_bytes()
    assert "CRYPTSETUP=y" in (root / "etc/cryptsetup-initramfs/conf-hook").read_text()
    text = "\n".join(e.message for e in seen)
    assert escrowed.value not in text
    assert "escrowed as Key Vault secret" in text


def test_plan_puts_the_key_step_first_and_marks_encrypted_partitions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("installer.steps.encryption_keys.device_mapper_available", lambda *a, **k: True)
    encryption = ("encryption: {enabled: true, key_source: keyvault-key, vault_url: 'https://v.vault.azure.net', "
                  "key_name: disk-kek, unlock: [keyvault, passphrase]}")
    profile = profile_from_text(PROFILE.replace("DISK", "/dev/vda").replace("ENCRYPTION", encryption)
                                .replace("  groups: [core]", "  image: {path: /srv/root.tar}"))
    plan = make_plan(profile, Inventory((DiskInfo("/dev/vda", 8 * 1024**3),)))
    assert plan.blockers == ()
    ids = [s.id for s in plan.steps]
    assert ids[:2] == ["encryption-keys", "storage"] and ids.index("system") < ids.index("unlock")
    details = "\n".join(d for s in plan.steps for d in s.details)
    assert "a random key wrapped by Key Vault key 'disk-kek'" in details
    assert "escrowed in https://v.vault.azure.net" in details and "vault-test" in details
    assert "LUKS2 on /dev/vda3 (/)" in details and "unlock at boot: keyvault, then passphrase" in details
    assert "/usr/lib/azl-installer/unlock-keyvault" in details and "/etc/crypttab" in details
    assert [d for d in plan.destructive if "LUKS2-encrypted" in d] == [
        d for d in plan.destructive if d.startswith("create /dev/vda3")]
    assert "/etc/initramfs-tools/hooks/azl-unlock" in details and "91azl-unlock" not in details
    # the same profile with an RPM payload (dracut): the dracut module and the network in the initramfs
    rpm = make_plan(replace(profile, payload=replace(profile.payload, image=None, groups=("core",))),
                    Inventory((DiskInfo("/dev/vda", 8 * 1024**3),)))
    assert rpm.blockers == ()
    details = "\n".join(d for s in rpm.steps for d in s.details)
    assert "/usr/lib/dracut/modules.d/91azl-unlock/azl-unlock-agent" in details and "initramfs-tools" not in details
    assert "rd.neednet=1" in details and "dracut modules crypt azl-unlock" in details


def test_planning_and_the_ui_do_not_import_the_azure_sdk() -> None:
    # The SDK costs ~0.2 s and ~20 MB; the UI's first screen and `plan` must not pay for it.
    code = ("import sys, installer.plan, installer.session, ui.app; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('azure', 'msal')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).parents[2], check=True)
    assert done.stdout.strip() == "[]"


def test_a_missing_ca_bundle_is_a_blocker_before_anything_is_written(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("installer.steps.encryption_keys.device_mapper_available", lambda *a, **k: True)
    encryption = ("encryption: {enabled: true, passphrase: x, "
                  f"ca_bundle: '{tmp_path}/no-such-ca.pem'}}")
    profile = profile_from_text(PROFILE.replace("DISK", "/dev/vda").replace("ENCRYPTION", encryption))
    plan = make_plan(profile, Inventory((DiskInfo("/dev/vda", 8 * 1024**3),)))
    assert tuple(map(str, plan.blockers)) == (
        f"encryption.ca_bundle: {tmp_path}/no-such-ca.pem is not a readable file",)


def _dnf_installs_azure_linux(root: Path) -> None:
    """What dnf leaves in the target that the boot steps look for: Azure Linux's files, GRUB 2, dracut, a kernel."""
    azure_linux_target(root)
    for tool in ("usr/sbin/grub2-install", "usr/sbin/grub2-mkconfig", "usr/bin/dracut"):
        (root / tool).parent.mkdir(parents=True, exist_ok=True)
        (root / tool).touch()
    (root / "usr/lib/modules/6.12.0-azl/vmlinuz").parent.mkdir(parents=True)
    (root / "usr/lib/modules/6.12.0-azl/vmlinuz").touch()


def test_dnf_builds_see_crypttab_and_the_luks_arguments_before_the_transaction(tmp_path: Path) -> None:
    """Anaconda's order: the kernel's scriptlets run dracut inside the dnf transaction, so crypttab (as
    systemd-cryptsetup reads it) and rd.luks.uuid= in /etc/kernel/cmdline must already be there."""
    at_dnf: dict[str, str] = {}

    def dnf_installs(root: Path) -> None:
        for name in ("etc/crypttab", "etc/kernel/cmdline"):
            at_dnf[name] = (root / name).read_text() if (root / name).exists() else "(missing)"
        _dnf_installs_azure_linux(root)

    text = PROFILE.replace("ENCRYPTION", PASSPHRASE_ENCRYPTION).replace("bootloader: {enabled: false}",
                                                                         "bootloader: {enabled: true}")
    run = recorded(tmp_path, text, on_dnf=dnf_installs)
    run.engine.run()
    [fmt] = [c for c in run.runner.calls if c[:2] == ("cryptsetup", "luksFormat")]
    uuid = fmt[fmt.index("--uuid") + 1]
    assert at_dnf["etc/crypttab"].splitlines()[-1] == f"luks-{uuid} UUID={uuid} none luks,discard,x-initrd.attach"
    assert f"rd.luks.uuid={uuid}" in at_dnf["etc/kernel/cmdline"].split()
    # After the payload the target turned out to use dracut: the same crypttab, the argument still once.
    assert (run.root / "etc/crypttab").read_text() == at_dnf["etc/crypttab"]
    assert oct((run.root / "etc/crypttab").stat().st_mode & 0o777) == "0o600"
    assert (run.root / "etc/kernel/cmdline").read_text().split().count(f"rd.luks.uuid={uuid}") == 1
    assert "/etc/crypttab (mode 0600" in run.engine.plan.render()


TPM2_PROFILE = PROFILE.replace("ENCRYPTION", "encryption: {enabled: true, passphrase: PASS, pbkdf: {memory: 64MiB}, "
                                             "unlock: [tpm2], tpm2_pcrs: [7]}").replace("PASS", PASSPHRASE)


def test_tpm2_unlock_seals_a_key_slot_before_the_payload_and_sets_up_the_initramfs(tmp_path: Path) -> None:
    enrol_keys: list[str] = []

    def dnf_installs(root: Path) -> None:
        (root / "usr/bin").mkdir(parents=True, exist_ok=True)
        (root / "usr/bin/dracut").touch()  # the target's initramfs tool: dracut

    run = recorded(tmp_path, TPM2_PROFILE, on_dnf=dnf_installs)
    run.runner.reply(["systemd-cryptenroll"], Reply(effect=lambda argv: enrol_keys.append(
        Path(argv[1].removeprefix("--unlock-key-file=")).read_text())))
    run.engine.run()
    calls = run.runner.calls
    [fmt] = [c for c in calls if c[:2] == ("cryptsetup", "luksFormat")]
    uuid = fmt[fmt.index("--uuid") + 1]
    [enrol] = [c for c in calls if c[0] == "systemd-cryptenroll"]
    assert enrol[2:] == ("--tpm2-device=auto", "--tpm2-pcrs=7", fmt[-1])
    # Unlocked with the volume key through a file that is gone afterwards; before the payload.
    assert enrol_keys == [PASSPHRASE] and not Path(enrol[1].removeprefix("--unlock-key-file=")).exists()
    order = [c[0] for c in calls if c[0] in ("cryptsetup", "systemd-cryptenroll", "dnf")]
    assert order.index("systemd-cryptenroll") < order.index("dnf")
    [dnf] = [c for c in calls if c[0] == "dnf"]
    assert dnf[-2:] == ("cryptsetup", "tpm2-tools")  # dracut's crypt and tpm2-tss modules need them
    root = run.root
    assert (root / "etc/crypttab").read_text().splitlines()[-1] == (
        f"luks-{uuid} UUID={uuid} none luks,discard,x-initrd.attach,tpm2-device=auto")
    conf = (root / "etc/dracut.conf.d/50-azl-unlock.conf").read_text()
    assert conf.splitlines()[1:] == ['install_items+=" /etc/crypttab "', 'add_dracutmodules+=" tpm2-tss "',
                                     'add_drivers+=" tpm_tis tpm_crb "']
    rendered = run.engine.plan.render()
    assert "Seal a key slot to the TPM 2.0" in rendered and "PCRs: 7 (PCR 7 = the Secure Boot state" in rendered
    assert "the console asks for the passphrase or the recovery key" in rendered
    assert PASSPHRASE not in rendered and all(PASSPHRASE not in " ".join(c) for c in calls)


def test_tpm2_unlock_is_refused_on_a_machine_without_a_tpm(tmp_path: Path) -> None:
    run = recorded(tmp_path, TPM2_PROFILE, tpm2=False)
    assert any("this machine has no TPM 2.0" in str(b) for b in run.engine.plan.blockers)
    with pytest.raises(InstallFailed):
        run.engine.run()
    assert not [c for c in run.runner.calls if c[0] in ("wipefs", "cryptsetup", "sgdisk", "parted")]


def test_keyvault_unlock_on_dracut_brings_the_agent_module_and_the_network(tmp_path: Path, standin: StandIn) -> None:
    encryption = (f"encryption: {{enabled: true, key_source: keyvault-key, vault_url: '{standin.vault_url}', "
                  f"key_name: disk-kek, ca_bundle: '{standin.ca.ca_pem}', unlock: [tpm2, keyvault], "
                  "pbkdf: {memory: 64MiB}}")

    run = recorded(tmp_path, PROFILE.replace("ENCRYPTION", encryption).replace(
        "bootloader: {enabled: false}", "bootloader: {enabled: true}"), on_dnf=_dnf_installs_azure_linux)
    run.engine.run()
    calls, root = run.runner.calls, run.root
    [fmt] = [c for c in calls if c[:2] == ("cryptsetup", "luksFormat")]
    uuid = fmt[fmt.index("--uuid") + 1]
    [dnf] = [c for c in calls if c[0] == "dnf"]
    assert {"cryptsetup", "tpm2-tools", "curl", "iproute", "dracut-network"} <= set(dnf)
    # not headless: after the TPM, systemd-cryptsetup asks, and the module's agent answers from Key Vault
    assert (root / "etc/crypttab").read_text().splitlines()[-1] == (
        f"luks-{uuid} UUID={uuid} none luks,discard,x-initrd.attach,tpm2-device=auto")
    conf = (root / "etc/dracut.conf.d/50-azl-unlock.conf").read_text()
    assert 'add_dracutmodules+=" azl-unlock "' in conf.splitlines()
    module = root / "usr/lib/dracut/modules.d/91azl-unlock"
    assert sorted(p.name for p in module.iterdir()) == [
        "azl-unlock-agent", "azl-unlock.path", "azl-unlock.service", "module-setup.sh"]
    assert (module / "azl-unlock-agent").stat().st_mode & 0o777 == 0o755
    assert "ExecStart=/usr/lib/azl-installer/azl-unlock-agent" in (module / "azl-unlock.service").read_text()
    assert (root / "usr/lib/azl-installer/unlock-keyvault").stat().st_mode & 0o777 == 0o755
    unlock = (root / "etc/azl-installer/unlock.conf").read_text()
    # the recovery key may still be typed (tpm2 is listed); the VM's system-assigned identity at boot
    assert "AZL_UNLOCK_PASSPHRASE=yes" in unlock.splitlines() and "AZL_UNLOCK_CLIENT_ID=" in unlock.splitlines()
    assert (root / "etc/azl-installer/keyvault-ca.pem").read_bytes() == standin.ca.ca_pem.read_bytes()
    cmdline = (root / "etc/kernel/cmdline").read_text().split()
    assert f"rd.luks.uuid={uuid}" in cmdline and cmdline.count("rd.neednet=1") == 1
    assert not (root / "etc/initramfs-tools").exists()
    messages = "\n".join(e.message for e in run.seen)
    assert "with the TPM 2.0, else Key Vault (managed identity), else the recovery key on the console" in messages
