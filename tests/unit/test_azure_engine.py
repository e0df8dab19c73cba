"""The whole engine on the Azure example profile, with a recording runner and a fake Azure Linux payload:
one dnf transaction with the Azure packages, the steps in order, and every file written named by the plan."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from installer.core.events import Event
from installer.core.runner import RecordingRunner
from installer.engine import Engine
from profiles import load_profile
from tests.support.engine import recorded
from tests.support.targets import azure_linux_target, snapshot, written

EXAMPLES = Path(__file__).parents[2] / "profiles" / "examples"


def _install(tmp_path: Path, example: str) -> tuple[Engine, RecordingRunner, list[Event], dict[str, str]]:
    profile = load_profile(EXAMPLES / example)
    before: dict[str, str] = {}

    def dnf_installs(root: Path) -> None:
        azure_linux_target(root)
        for key in ("ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"):
            (root / "etc/ssh" / key).write_text("key\n")
        (root / "etc/machine-id").write_text("0123456789abcdef0123456789abcdef\n")
        before.update(snapshot(root))

    run = recorded(tmp_path, replace(profile, bootloader=replace(profile.bootloader, enabled=False)),
                   size=8 * 1024**3, on_dnf=dnf_installs)
    run.engine.run()
    return run.engine, run.runner, run.seen, {k: v for k, v in written(before, snapshot(run.root)).items()
                                              if not k.startswith("/var/log/azl-installer/")}


def test_azure_example_installs_in_one_transaction_and_plans_every_file(tmp_path: Path) -> None:
    engine, runner, seen, files = _install(tmp_path, "azure-vm.yaml")
    root = engine.root
    assert [e.step for e in seen if e.kind == "step-started"] == [
        "storage", "mount", "early-config", "payload", "system", "selinux", "azure", "cloud-init", "generalize",
        "selinux-relabel", "finish"]
    dnf = [c for c in runner.calls if c[0] == "dnf"]
    assert len(dnf) == 1 and dnf[0][-13:] == (
        "@core", "@azure-vm-server", "selinux-policy-targeted", "policycoreutils", "kernel", "WALinuxAgent",
        "cloud-init", "cloud-utils-growpart",
        "azure-vm-utils", "hyperv-daemons", "chrony", "shim-x64", "grub2-efi-x64")
    chroot = [c for c in runner.commands() if c.startswith(f"chroot {root} ")]
    assert chroot == [
        f"chroot {root} systemctl enable waagent.service chronyd.service",
        f"chroot {root} systemctl enable cloud-init-local.service cloud-init-main.service "
        "cloud-init-network.service cloud-config.service cloud-final.service",
    ]
    # Written after the payload (fstab is not among them: the early-config step wrote it before dnf).
    assert (root / "etc/fstab").read_text().startswith("# Written by azl-installer") and "/etc/fstab" not in files
    assert sorted(files) == [
        "/etc/chrony.conf", "/etc/cloud/cloud.cfg.d/91-azure_datasource.cfg",
        "/etc/cloud/cloud.cfg.d/99-azl-installer-locale.cfg",
        "/etc/hostname", "/etc/locale.conf", "/etc/machine-id",
        "/etc/ssh/sshd_config.d/40-azl-azure.conf", "/etc/udev/rules.d/10-azure-unmanaged-sriov.rules",
        "/etc/vconsole.conf", "/etc/waagent.conf",
    ]
    # Accounts are shadow-utils' work (recorded here, so passwd and friends stay as the payload left them).
    assert f"usermod --root {root} --lock root" in runner.commands()
    assert (root / "etc/machine-id").read_text() == "" and not list((root / "etc/ssh").glob("ssh_host_*"))
    rendered = engine.plan.render()
    system_files = {"/etc/fstab", "/etc/locale.conf", "/etc/vconsole.conf", "/etc/group", "/etc/gshadow",
                    "/etc/passwd", "/etc/shadow"}  # the system step's own
    for path in sorted(set(files) - system_files):
        assert path in rendered, f"the plan does not name {path}"
    for removed in ("/etc/ssh/ssh_host_*", "/var/lib/cloud/*"):
        assert removed in rendered


def test_seed_example_writes_the_nocloud_seed_the_plan_names(tmp_path: Path) -> None:
    engine, _, seen, files = _install(tmp_path, "cloud-init-seed.yaml")
    assert [e.step for e in seen if e.kind == "step-started"] == [
        "storage", "mount", "early-config", "payload", "system", "selinux", "cloud-init", "selinux-relabel", "finish"]
    seeded = sorted(f for f in files if "cloud" in f)
    assert seeded == ["/etc/cloud/cloud.cfg.d/99-azl-installer-datasource.cfg",
                      "/etc/cloud/cloud.cfg.d/99-azl-installer-locale.cfg",
                      "/var/lib/cloud/seed/nocloud/meta-data", "/var/lib/cloud/seed/nocloud/network-config",
                      "/var/lib/cloud/seed/nocloud/user-data"]
    rendered = engine.plan.render()
    assert all(path in rendered for path in seeded)
    assert files["/var/lib/cloud/seed/nocloud/meta-data"] == ("instance-id: iid-seeded-vm-0001\n"
                                                              "local-hostname: seeded-vm\n")
    assert files["/var/lib/cloud/seed/nocloud/user-data"].startswith("#cloud-config\nusers:\n  - name: azureuser\n")
