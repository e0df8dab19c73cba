from __future__ import annotations

import os
from pathlib import Path

from installer.core.events import Event, EventBus
from installer.core.runner import RecordingRunner
from installer.steps.system import SystemStep
from profiles import profile_from_text
from storage.apply import FstabEntry
from tests.support.accounts import fake_root, fake_useradd
from tests.support.steps import step_context

PROFILE = """\
storage: {disks: [{path: /dev/vda}]}
payload: {image: {path: /x.tar}}
system: {hostname: web-01, timezone: Europe/Berlin, locale: de_DE.UTF-8, keyboard: de}
users:
  - name: azureuser
    groups: [wheel, docker]
    password_hash: "$6$salt$abcdefghijklmnopqrstuvwxyz"
    ssh_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk8Fq9m3fW2xYhSRC9Uuj7TqZxQ4t6c3cVYbdU2n4Qf a@b"]
  - name: second
root: {ssh_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk8Fq9m3fW2xYhSRC9Uuj7TqZxQ4t6c3cVYbdU2n4Qf r@b"]}
"""


def test_configure_writes_every_file_and_runs_shadow_utils(tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    seen: list[Event] = []
    runner = RecordingRunner()
    runner.reply(["useradd"], fake_useradd(root))
    fstab = [FstabEntry("UUID=1234", "/", "xfs", "defaults", 0), FstabEntry("UUID=99", "/boot", "ext4", "defaults", 2)]
    SystemStep().run(step_context(profile_from_text(PROFILE), root, fstab=fstab, events=EventBus(seen.append),
                                  runner=runner))
    assert (root / "etc/fstab").read_text().splitlines()[1:] == [
        "UUID=1234 / xfs defaults 0 0", "UUID=99 /boot ext4 defaults 0 2"]
    assert (root / "etc/hostname").read_text() == "web-01\n"
    assert (root / "etc/locale.conf").read_text() == "LANG=de_DE.UTF-8\n"
    assert (root / "etc/vconsole.conf").read_text() == "KEYMAP=de\n"
    assert os.readlink(root / "etc/localtime") == "../usr/share/zoneinfo/Europe/Berlin"
    assert runner.commands() == [
        f"groupadd --root {root} --system docker",
        f"useradd --root {root} --create-home --user-group --shell /bin/bash --groups wheel,docker azureuser",
        f"useradd --root {root} --create-home --user-group --shell /bin/bash second",
        f"chpasswd --root {root} --encrypted",
        f"usermod --root {root} --lock root",
    ]
    keys = root / "home/azureuser/.ssh/authorized_keys"
    assert keys.read_text().startswith("ssh-ed25519 ") and oct(keys.stat().st_mode & 0o777) == "0o600"
    assert oct((root / "home/azureuser/.ssh").stat().st_mode & 0o777) == "0o700"
    if os.geteuid() == 0:
        assert (keys.stat().st_uid, keys.stat().st_gid) == (1000, 1000)
    assert (root / "root/.ssh/authorized_keys").read_text().endswith("r@b\n")
    assert not (root / "home/second/.ssh").exists()
    assert [e.fraction for e in seen if e.kind == "step-progress"] == [0.2, 0.5, 1.0]
