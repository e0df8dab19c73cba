"""iso/packer/: the Packer template validates with the Packer Debian ships, boots the ISO's own kernel with its
menu's arguments, and installs a profile that validates."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from iso.grubcfg import INITRD, KERNEL, KERNEL_ARGS
from profiles import load_profile

PACKER_DIR = Path(__file__).resolve().parents[2] / "iso" / "packer"
TEMPLATE = PACKER_DIR / "azl-installer.pkr.hcl"


@pytest.mark.skipif(shutil.which("packer") is None, reason="packer is not installed (scripts/setup-host.sh)")
def test_packer_validates_the_template(tmp_path: Path) -> None:
    done = subprocess.run(["packer", "validate", "-var", f"iso={tmp_path / 'azl-installer.iso'}", str(TEMPLATE)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "broken.pkr.hcl"
    broken.write_text(re.sub(r"\bcommunicator\b", "communicatorr", TEMPLATE.read_text()))
    done = subprocess.run(["packer", "validate", "-var", "iso=x.iso", str(broken)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode != 0 and "communicatorr" in done.stdout + done.stderr  # validation can fail
    formatted = subprocess.run(["packer", "fmt", "-check", str(TEMPLATE)], capture_output=True, text=True, timeout=60)
    assert formatted.returncode == 0, "run: packer fmt iso/packer/"


def test_the_direct_boot_matches_the_isos_menu() -> None:
    """QEMU boots the ISO's own kernel and initramfs with what the ISO's GRUB menu entries say (iso/grubcfg.py),
    plus inst.profile= on Packer's server; nothing is typed (a typed boot raced the menu's countdown)."""
    text = TEMPLATE.read_text()
    append = re.search(r'\["-append", "([^"]*) inst\.profile=http://10\.0\.2\.100:\$\{var\.http_port\}/'
                       r'\$\{var\.profile\}"\]', text)
    assert append, "no -append with inst.profile= on Packer's server"
    assert tuple(append.group(1).split()) == KERNEL_ARGS
    assert '["-kernel", var.kernel]' in text and '["-initrd", var.initrd]' in text
    for name, inside in (("kernel", KERNEL), ("initrd", INITRD)):  # the defaults: the ISO's files, copied out
        default = re.search(rf'variable "{name}" \{{[^}}]*default\s*=\s*"[^"]*?(/[\w.]+)"', text)
        assert default and inside.endswith(default.group(1)), name
    assert not re.search(r"^\s*boot_command\s*=", text, re.M)
    # The guest reaches Packer's server and nothing else: restricted user networking, one forward.
    assert "user,id=user.0,restrict=on,guestfwd=tcp:10.0.2.100:${var.http_port}-cmd:busybox nc 127.0.0.1 " \
           "${var.http_port}" in text
    assert 'http_bind_address = "127.0.0.1"' in text


def test_the_packer_profiles_validate() -> None:
    for path in sorted((PACKER_DIR / "http").glob("*.yaml")):
        profile = load_profile(path)
        assert profile.after_install in (None, "poweroff"), "Packer waits for the machine to power off"
