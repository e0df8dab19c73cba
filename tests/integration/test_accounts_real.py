"""The host's shadow-utils with --root against a root the sample repository installed: what useradd really leaves."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from installer.accounts import configure_accounts
from installer.core.events import EventBus
from installer.core.passwords import hash_password, verify
from installer.core.runner import RealRunner
from profiles import profile_from_text
from tests.support.loop import ROOT_ONLY

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk8Fq9m3fW2xYhSRC9Uuj7TqZxQ4t6c3cVYbdU2n4Qf a@b"


def sample_root(repo: Path, tmp_path: Path) -> Path:
    """The sample's filesystem, setup (the /etc account files, root only) and shadow-utils, installed by dnf."""
    root, home = tmp_path / "root", tmp_path / "home"
    home.mkdir()
    (home / ".rpmmacros").write_text("%_dbpath /usr/lib/sysimage/rpm\n")
    config = tmp_path / "dnf.conf"
    config.write_text("[main]\npersistdir=/var/lib/dnf\nlogdir=/var/log\nplugins=False\nreposdir=\n")
    subprocess.run(["dnf", "-q", "-y", f"--config={config}", f"--installroot={root}", "--releasever=4.0",
                    "--setopt=reposdir=/nonexistent", "--disablerepo=*", f"--repofrompath=s,{repo.as_uri()}",
                    "--enablerepo=s", "--nogpgcheck", f"--setopt=cachedir={tmp_path / 'cache'}",
                    "install", "filesystem", "setup", "shadow-utils"],
                   check=True, capture_output=True, env={"HOME": str(home), "PATH": os.environ["PATH"]})
    return root


@ROOT_ONLY
@pytest.mark.skipif(shutil.which("useradd") is None or shutil.which("dnf") is None, reason="needs shadow-utils, dnf")
def test_shadow_utils_create_users_groups_passwords_and_keys(sample_repo: Path, tmp_path: Path) -> None:
    root = sample_root(sample_repo, tmp_path)
    (root / "etc/login.defs").write_text("UMASK 022\nHOME_MODE 0700\n")  # as Azure Linux ships it
    (root / "etc/skel").mkdir()
    (root / "etc/skel/.bashrc").write_text("# skel\n")
    secret = hash_password("correct horse")
    text = f"""\
storage: {{disks: [{{path: /dev/vda}}]}}
payload: {{image: {{path: /x.tar}}}}
users:
  - {{name: azureuser, groups: [wheel, docker], password_hash: '{secret}', ssh_keys: ['{KEY}']}}
  - {{name: ops, uid: 1500, gecos: Ops Person, shell: /bin/sh}}
root: {{ssh_keys: ['{KEY}']}}
"""
    logged: list[str] = []
    events = EventBus(lambda e: logged.append(e.message))
    configure_accounts(profile_from_text(text), root, RealRunner(events), events)

    passwd = (root / "etc/passwd").read_text().splitlines()
    assert "azureuser:x:1000:1000::/home/azureuser:/bin/bash" in passwd
    assert "ops:x:1500:1500:Ops Person:/home/ops:/bin/sh" in passwd
    groups = {line.split(":")[0]: line.split(":") for line in (root / "etc/group").read_text().splitlines()}
    assert groups["wheel"][3] == "azureuser" and groups["docker"][3] == "azureuser"
    assert int(groups["wheel"][2]) < 1000  # groupadd --system
    shadow = dict(line.split(":")[:2] for line in (root / "etc/shadow").read_text().splitlines())
    assert verify("correct horse", shadow["azureuser"]) and shadow["ops"] == "!" and shadow["root"].startswith("!")
    home = root / "home/azureuser"
    assert (home.stat().st_uid, oct(home.stat().st_mode & 0o777)) == (1000, "0o700")  # login.defs' HOME_MODE
    assert (home / ".bashrc").read_text() == "# skel\n"
    keys = home / ".ssh/authorized_keys"
    assert keys.read_text() == KEY + "\n" and (keys.stat().st_uid, keys.stat().st_gid) == (1000, 1000)
    assert oct(keys.stat().st_mode & 0o777) == "0o600" and oct((home / ".ssh").stat().st_mode & 0o777) == "0o700"
    assert (root / "root/.ssh/authorized_keys").stat().st_uid == 0
    assert not [line for line in logged if secret in line or secret.split("$")[-1] in line]
