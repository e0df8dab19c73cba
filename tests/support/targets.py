"""Fake installed targets (the files an Azure Linux payload ships) and what a step changed in them."""

from __future__ import annotations

from pathlib import Path

AZURE_LINUX_BASE = """\
storage:
  disks: [{path: /dev/sda}]
  auto: {boot: uefi}
payload:
  repositories: [{name: base, baseurl: "https://example.invalid/repo"}]
  groups: [core]
"""
# What the Azure Linux packages ship (abridged), so the step's edits can be seen to keep it.
SHIPPED_WAAGENT = """# Microsoft Azure Linux Agent Configuration
Provisioning.Agent=auto
ResourceDisk.Format=y
ResourceDisk.Filesystem=ext4
ResourceDisk.EnableSwap=n
# OS.RootDeviceScsiTimeout=300
Logs.Verbose=n
"""
SHIPPED_CHRONY = """pool 2.azurelinux.pool.ntp.org iburst
driftfile /var/lib/chrony/drift
makestep 1.0 3
rtcsync
"""


def azure_linux_target(root: Path) -> Path:
    """A fake installed Azure Linux: the files its packages ship that the step reads."""
    files = {
        "etc/waagent.conf": SHIPPED_WAAGENT,
        "etc/chrony.conf": SHIPPED_CHRONY,
        "etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\n",
        "usr/lib/systemd/system/waagent.service": "[Unit]\n",
        "usr/lib/systemd/system/chronyd.service": "[Unit]\n",
        "usr/lib/systemd/system/cloud-init-local.service": "[Unit]\n",
        "usr/lib/systemd/system/cloud-init-main.service": "[Unit]\n",
        "usr/lib/systemd/system/cloud-init-network.service": "[Unit]\n",
        "usr/lib/systemd/system/cloud-config.service": "[Unit]\n",
        "usr/lib/systemd/system/cloud-final.service": "[Unit]\n",
        "usr/bin/cloud-init": "",
        "usr/sbin/NetworkManager": "",
        "boot/efi/EFI/azurelinux/shimx64.efi": "shim",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def snapshot(root: Path) -> dict[str, str]:
    """Every file under root (as seen inside it) with its text."""
    return {"/" + str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def written(before: dict[str, str], after: dict[str, str]) -> dict[str, str]:
    """The files that are new or changed between two snapshots."""
    return {k: v for k, v in after.items() if before.get(k) != v}
