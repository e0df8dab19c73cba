"""A kickstart installed into a disk image with `install --kickstart`, checked from outside like a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

from tests.support.loop import ROOT_ONLY, mount_ro, sh

HASH = "$6$demosalt$pep2rFsAdnlyXj4mGOrrHEf7MdBKXMRAgvW.g3Skgxqkr1JllvY8JE7HzasHlLRWwL9avcCI43qk/JcTuErnA/"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk8Fq9m3fW2xYhSRC9Uuj7TqZxQ4t6c3cVYbdU2n4Qf ks@example"
KICKSTART = f"""\
# A kickstart as an operator brings it: BIOS layout (the host cannot mount vfat), the sample repository.
text
lang en_US.UTF-8
keyboard --vckeymap=us
timezone Europe/Berlin --utc
rootpw --iscrypted {HASH}
group --name=ops --gid=3000
user --name=kate --groups=ops --password=pl41n-SECRET --plaintext --uid=1500
sshkey --username=kate "{KEY}"
selinux --disabled
services --disabled=kdump
network --device=eth0 --bootproto=static --ip=10.1.2.3 --netmask=255.255.255.0 --gateway=10.1.2.1 \
--nameserver=10.1.2.53 --hostname=ks-vm
url --url=REPO
bootloader --location=none
zerombr
clearpart --all --initlabel
ignoredisk --only-use=vda
%include parts.ks
poweroff
%packages --nocore
@^azure-server
vim-minimal
%end
%pre-install
mkdir -p "$AZL_TARGET/etc" && echo from-pre-install > "$AZL_TARGET/etc/pre-install-mark"
%end
%post --nochroot --log=/mnt/sysimage/root/ks-post.log
echo "nochroot sees $ANA_INSTALL_PATH"
%end
%post
echo "Installed from a kickstart" > /etc/motd
%end
"""
PARTS = """\
part biosboot --fstype=biosboot --size=1
part /boot --fstype=ext4 --size=256 --label=boot
part / --fstype=ext4 --size=1024 --grow --label=root
"""


@ROOT_ONLY
def test_kickstart_installs_into_an_image(tmp_path: Path, sample_repo: Path, cleanup: ExitStack) -> None:
    ks = tmp_path / "ks.cfg"
    ks.write_text(KICKSTART.replace("REPO", sample_repo.as_uri()))
    (tmp_path / "parts.ks").write_text(PARTS)
    image, logs = tmp_path / "disk.img", tmp_path / "logs"
    done = subprocess.run([sys.executable, "-m", "installer", "install", "--kickstart", ks, "--target-image", image,
                           "--image-size", "3GiB", "--yes", "--log-dir", logs], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "azl-installer: after install: poweroff" in done.stderr  # the ISO's launcher acts on it
    table = json.loads(sh("sfdisk", "--json", image))["partitiontable"]
    assert [p["size"] * 512 // 2**20 for p in table["partitions"]][:2] == [1, 256]

    device = sh("losetup", "--find", "--show", "--read-only", image).strip()
    cleanup.callback(sh, "losetup", "--detach", device, check=False)
    sh("partx", "--add", device)
    cleanup.callback(sh, "partx", "--delete", device, check=False)
    assert sh("blkid", "-p", "-s", "LABEL", "-o", "value", f"{device}p3").strip() == "root"
    root = mount_ro(cleanup, f"{device}p3", tmp_path / "root")

    shadow = dict(line.split(":")[:2] for line in (root / "etc/shadow").read_text().splitlines())
    assert shadow["root"] == HASH  # rootpw --iscrypted, as written
    assert shadow["kate"].startswith("$y$")  # --plaintext hashed at conversion
    assert "kate:x:1500:" in (root / "etc/passwd").read_text()
    assert "ops:x:3000:kate" in (root / "etc/group").read_text()
    assert (root / "home/kate/.ssh/authorized_keys").read_text() == KEY + "\n"
    assert (root / "etc/hostname").read_text() == "ks-vm\n"
    network = (root / "etc/systemd/network/10-azl-eth0.network").read_text()
    assert "Address=10.1.2.3/24" in network and "Gateway=10.1.2.1" in network and "DNS=10.1.2.53" in network
    assert (root / "etc/pre-install-mark").read_text() == "from-pre-install\n"
    assert (root / "etc/motd").read_text() == "Installed from a kickstart\n"
    post_log = (root / "root/ks-post.log").read_text()
    assert post_log.startswith("nochroot sees /") and "/mnt/sysimage" not in post_log

    saved = (root / "var/log/azl-installer/profile.yaml").read_text()
    assert "network:" in saved and "10.1.2.3/24" in saved
    written = [p for p in [*(root / "var/log/azl-installer").iterdir(), *logs.iterdir()] if p.is_file()]
    assert not [p for p in written if "pl41n-SECRET" in p.read_text(errors="replace")]
    assert "pl41n-SECRET" not in done.stderr + done.stdout
    assert os.stat(root / "var/log/azl-installer/profile.yaml").st_mode & 0o077 == 0
