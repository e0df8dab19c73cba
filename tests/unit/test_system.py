from __future__ import annotations

import os
from pathlib import Path

from installer.core.events import Event, EventBus
from installer.steps.system import SystemStep
from profiles import profile_from_text
from storage.apply import FstabEntry
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


def _root(tmp_path: Path) -> Path:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\nbin:x:1:1:bin:/bin:/sbin/nologin\n")
    (etc / "group").write_text("root:x:0:\nwheel:x:10:\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (etc / "gshadow").write_text("root:::\nwheel:::\n")
    return tmp_path


def test_configure_writes_every_file(tmp_path: Path) -> None:
    root = _root(tmp_path)
    seen: list[Event] = []
    fstab = [FstabEntry("UUID=1234", "/", "xfs", "defaults", 0), FstabEntry("UUID=99", "/boot", "ext4", "defaults", 2)]
    SystemStep().run(step_context(profile_from_text(PROFILE), root, fstab=fstab, events=EventBus(seen.append)))
    assert (root / "etc/fstab").read_text().splitlines()[1:] == [
        "UUID=1234 / xfs defaults 0 0", "UUID=99 /boot ext4 defaults 0 2"]
    assert (root / "etc/hostname").read_text() == "web-01\n"
    assert (root / "etc/locale.conf").read_text() == "LANG=de_DE.UTF-8\n"
    assert (root / "etc/vconsole.conf").read_text() == "KEYMAP=de\n"
    assert os.readlink(root / "etc/localtime") == "../usr/share/zoneinfo/Europe/Berlin"
    passwd = (root / "etc/passwd").read_text().splitlines()
    assert "azureuser:x:1000:1000::/home/azureuser:/bin/bash" in passwd
    assert "second:x:1001:1001::/home/second:/bin/bash" in passwd
    shadow = {line.split(":")[0]: line.split(":")[1] for line in (root / "etc/shadow").read_text().splitlines()}
    assert shadow == {"root": "!*", "azureuser": "$6$salt$abcdefghijklmnopqrstuvwxyz", "second": "!"}
    groups = (root / "etc/group").read_text().splitlines()
    assert "wheel:x:10:azureuser" in groups and "docker:x:900:azureuser" in groups
    assert oct((root / "etc/shadow").stat().st_mode & 0o777) == "0o0"
    keys = root / "home/azureuser/.ssh/authorized_keys"
    assert keys.read_text().startswith("ssh-ed25519 ") and oct(keys.stat().st_mode & 0o777) == "0o600"
    assert (root / "root/.ssh/authorized_keys").read_text().endswith("r@b\n")
    assert [e.fraction for e in seen if e.kind == "step-progress"] == [0.2, 0.5, 1.0]


def test_unlocked_root_gets_its_hash(tmp_path: Path) -> None:
    text = PROFILE.replace("root: {ssh_keys", "root: {locked: false, password_hash: '$y$j9T$abc$def', ssh_keys")
    SystemStep().run(step_context(profile_from_text(text), _root(tmp_path)))
    assert (tmp_path / "etc/shadow").read_text().startswith("root:$y$j9T$abc$def:")
