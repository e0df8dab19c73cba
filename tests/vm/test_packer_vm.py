"""`packer build` of iso/packer/azl-installer.pkr.hcl (QEMU builder, TCG) from the real ISO: QEMU boots the
ISO's own kernel and initramfs (copied out as `make packer` does) with the ISO as the live medium, the profile
comes from Packer's own HTTP server, the install powers the machine off, the post-processor writes a fixed VHD
whose virtual size is a whole number of MiB, and that VHD boots alone.

A quick profile (the live root as an image, vm-bios.yaml with the disk by path) stands in for the template's
default (the test distribution's server set, a dnf install many minutes longer under TCG), so the template,
Packer's handling of it and the VHD are what this proves. In `make test`, and alone as `make test-packer`.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from iso.boottest import extract_kernel
from tests.support.encrypted_vm import REPO
from tests.support.images import guest_cpus

pytestmark = [pytest.mark.vm, pytest.mark.packer,
              pytest.mark.skipif(shutil.which("packer") is None, reason="packer is not installed")]

TEMPLATE = REPO / "iso" / "packer" / "azl-installer.pkr.hcl"
MiB = 1024 * 1024


def quick_profile() -> str:
    profile = yaml.safe_load((REPO / "iso/profiles/vm-bios.yaml").read_text())
    profile["storage"]["disks"] = [{"path": "/dev/vda"}]  # Packer's disk has no serial
    profile["system"]["hostname"] = "azl-packer"
    profile["after_install"] = "poweroff"
    return str(yaml.safe_dump(profile, sort_keys=False))


@pytest.mark.minutes(3)  # 183 s in make test (2026-12-03)
def test_packer_builds_a_fixed_vhd_that_boots(installer_iso: Path, tmp_path: Path) -> None:
    http, out = tmp_path / "http", tmp_path / "out"
    http.mkdir()
    (http / "quick.yaml").write_text(quick_profile())
    with socket.socket() as probe:  # a free loopback port for Packer's HTTP server (two runs side by side)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kernel, initrd = extract_kernel(installer_iso, tmp_path / "boot-files")
    variables = {"iso": installer_iso, "kernel": kernel, "initrd": initrd, "http_directory": http,
                 "profile": "quick.yaml", "output_directory": out, "accelerator": "tcg", "disk_mib": 4096,
                 "install_timeout": "25m", "http_port": port, "cpus": guest_cpus()}
    argv = ["packer", "build", *(a for k, v in variables.items() for a in ("-var", f"{k}={v}")), str(TEMPLATE)]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=3600,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(tmp_path),
                               "PACKER_CACHE_DIR": str(tmp_path / "cache"), "CHECKPOINT_DISABLE": "1"})
    serial = Path(f"{out}-serial.log")
    install = serial.read_text(errors="replace") if serial.exists() else ""
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:] + install[-4000:]
    assert "launcher: installing from profile" in install and "AZL-INSTALL-RESULT rc=0" in install, install[-4000:]
    assert f"inst.profile=http://10.0.2.100:{port}/quick.yaml" in install  # from Packer's HTTP server

    vhd = out / "azl.vhd"
    # A fixed VHD is the data and a 512-byte footer; qemu-img's probe takes it for raw (only a dynamic VHD
    # starts with the footer's copy), so the format is named.
    info = json.loads(subprocess.run(["qemu-img", "info", "-f", "vpc", "--output", "json", str(vhd)],
                                     capture_output=True, text=True, check=True).stdout)
    assert info["virtual-size"] == 4096 * MiB, info
    with vhd.open("rb") as handle:
        handle.seek(-512, 2)
        footer = handle.read(512)
    assert footer[:8] == b"conectix" and int.from_bytes(footer[60:64], "big") == 2  # disk type 2: fixed
    assert int.from_bytes(footer[48:56], "big") == 4096 * MiB  # current size, as Azure reads it
    assert vhd.stat().st_size == 4096 * MiB + 512

    # The VHD alone: as the installed disk of `azl-installer vm --no-install` (BIOS), its first-boot check.
    work = tmp_path / "boot"
    work.mkdir()
    subprocess.run(["qemu-img", "convert", "-f", "vpc", "-O", "qcow2", str(vhd), str(work / "disk-0.qcow2")],
                   check=True)
    booted = subprocess.run([sys.executable, "-m", "installer", "vm", "--no-install", "--firmware", "bios",
                             "--workdir", str(work), "--console", str(work / "serial.log"), "--timeout", "900"],
                            cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=1200)
    boot = (work / "serial.log").read_text(errors="replace")
    assert booted.returncode == 0, booted.stderr[-3000:] + boot[-3000:]
    check = boot[boot.rfind("AZL-BOOT-CHECK begin"):]
    assert "AZL-BOOT-CHECK end" in check, boot[-4000:]
