"""A real install with a cloud-init NoCloud seed, then the installed disk's first boot (QEMU, TCG).

Needs the real installer ISO (another issue builds it): skipped unless AZL_VM_CLOUDINIT=1 and
AZL_ISO names the ISO. The guest runs cloud-init from its own packages; the test reads from the
serial console that cloud-init finished without errors, created the file and ran the command.
AZL_VM_PACKAGES overrides the package list installed from the ISO's repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.vm,
    pytest.mark.skipif(os.environ.get("AZL_VM_CLOUDINIT") != "1" or not os.environ.get("AZL_ISO"),
                       reason="set AZL_VM_CLOUDINIT=1 and AZL_ISO=/path/to/azl-installer.iso"),
]
REPO = Path(__file__).parents[2]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk8Fq9m3fW2xYhSRC9Uuj7TqZxQ4t6c3cVYbdU2n4Qf vm@test"
PROFILE = f"""storage:
  disks: [{{path: /dev/disk/by-id/virtio-AZL-TARGET-0}}]
  auto: {{filesystem: ext4, boot: uefi}}
payload:
  repositories: [{{name: iso, baseurl: "file:///run/live/medium/repo"}}]
  PACKAGES
system: {{hostname: seeded}}
cloud_init:
  user_data: |
    #cloud-config
    users:
      - name: seeduser
        ssh_authorized_keys: ["{KEY}"]
    write_files:
      - path: /etc/azl-seeded
        content: "seeded by cloud-init\\n"
    runcmd:
      - [sh, -c, "test -f /etc/azl-seeded && id seeduser && echo AZL-SEED-RUNCMD-OK > /dev/ttyS0"]
    final_message: "AZL-CLOUD-INIT-FINISHED after $UPTIME s"
"""


def test_cloud_init_seed_runs_on_first_boot(tmp_path: Path) -> None:
    packages = os.environ.get("AZL_VM_PACKAGES", "kernel grub2-efi-x64 shim systemd cloud-init openssh-server")
    profile = tmp_path / "seeded.yaml"
    profile.write_text(PROFILE.replace("PACKAGES", f"packages: [{', '.join(packages.split())}]"))
    console = tmp_path / "console.log"
    done = subprocess.run(
        [sys.executable, "-m", "installer", "vm", "--iso", os.environ["AZL_ISO"], "--profile", str(profile),
         "--disk-size", "4GiB", "--console", str(console), "--workdir", str(tmp_path / "wd"), "--timeout", "1500"],
        cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=1800)
    assert done.returncode == 0, done.stderr
    serial = console.read_text(errors="replace")
    assert "AZL-INSTALL-RESULT rc=0" in serial
    first_boot = serial[serial.index("AZL-INSTALL-RESULT rc=0"):]
    assert "AZL-SEED-RUNCMD-OK" in first_boot  # the file was written, the user created, the command ran
    assert "AZL-CLOUD-INIT-FINISHED" in first_boot
    errors = [line for line in first_boot.splitlines()
              if "cloud-init" in line.lower() and ("Traceback" in line or "[ERROR]" in line or " ERROR " in line)]
    assert errors == []
