"""iso/packer/: the Packer template validates with the Packer Debian ships, types the ISO's own boot arguments,
and installs a profile that validates."""

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


def test_the_typed_boot_matches_the_isos_menu() -> None:
    """The boot_command types what the ISO's GRUB menu entries say (iso/grubcfg.py), plus inst.profile=."""
    text = TEMPLATE.read_text()
    served = r'"inst\.profile=http://10\.0\.2\.100:\$\{var\.http_port\}/'
    linux = re.search(r'"linux (\S+) ([^"]*?) ",\s*' + served, text)
    assert linux, "no linux line typed"
    assert linux.group(1) == KERNEL and tuple(linux.group(2).split()) == KERNEL_ARGS
    assert f'"initrd {INITRD}<enter><wait${{var.load_wait}}>"' in text  # keys typed while GRUB reads are lost
    # The guest reaches Packer's server and nothing else: restricted user networking, one forward.
    assert "user,id=user.0,restrict=on,guestfwd=tcp:10.0.2.100:${var.http_port}-cmd:busybox nc 127.0.0.1 " \
           "${var.http_port}" in text
    assert 'http_bind_address = "127.0.0.1"' in text


def test_the_packer_profiles_validate() -> None:
    for path in sorted((PACKER_DIR / "http").glob("*.yaml")):
        profile = load_profile(path)
        assert profile.after_install in (None, "poweroff"), "Packer waits for the machine to power off"
