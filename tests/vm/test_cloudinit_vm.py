"""A real install with a cloud-init NoCloud seed, then the installed disk's first boot (QEMU, TCG).

The real ISO (the `installer_iso` fixture) installs iso/profiles/vm-cloudinit.yaml: its own
squashfs as the payload, so the target runs the cloud-init of its own Debian packages, which
the live medium keeps switched off. The seed creates a user with an SSH key, writes a file and
runs a command; the profile's first-boot check waits for cloud-init and prints what it did on
the serial console. About 6 minutes under TCG. Needs root (the ISO build) and the tools
scripts/setup-host.sh installs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from profiles import load_profile

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "iso" / "profiles" / "vm-cloudinit.yaml"
# The keys the profile's first-boot check prints (cloud-init-log only when the log has warnings).
REPORTED = ("cloud-init-package", "marker", "cloud-init-status", "cloud-init-status-rc", "cloud-init-errors",
            "cloud-init-stage-errors", "cloud-init-datasource", "cloud-init-ds-identify", "file", "user", "key",
            "runcmd", "state")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the ISO build needs root")


def _report(log: str) -> dict[str, list[str]]:
    """The AZL-BOOT-CHECK section of the serial log as `key: value` lines, grouped by key."""
    match = re.search(r"AZL-BOOT-CHECK begin\r?\n(.*?)AZL-BOOT-CHECK end", log, re.S)
    report: dict[str, list[str]] = {}
    for line in match.group(1).splitlines() if match else []:
        key, sep, value = line.rstrip("\r").partition(": ")
        if sep:
            report.setdefault(key, []).append(value)
    return report


def _seed() -> dict[str, Any]:
    ci = load_profile(PROFILE).cloud_init
    assert ci is not None and ci.user_data is not None
    data = yaml.safe_load(ci.user_data)
    assert isinstance(data, dict)
    return data


def test_cloud_init_seed_runs_on_first_boot(installer_iso: Path, tmp_path: Path) -> None:
    seed = _seed()
    user, written = seed["users"][0], seed["write_files"][0]
    serial = tmp_path / "serial.log"
    done = subprocess.run(
        [sys.executable, "-m", "installer", "vm", "--iso", str(installer_iso), "--profile", str(PROFILE),
         "--console", str(serial), "--workdir", str(tmp_path / "vm"), "--disk-size", "4GiB", "--timeout", "900"],
        cwd=REPO, capture_output=True, text=True, timeout=1500,
    )
    log = serial.read_text(errors="replace") if serial.exists() else ""
    assert "AZL-INSTALL-RESULT rc=0" in log, f"install failed in the guest:\n{log[-6000:]}"
    assert done.returncode == 0, done.stderr[-3000:]
    report = _report(log)
    assert report, f"the installed system did not report:\n{log[-6000:]}"
    shown = "\n".join(f"{k}: {v}" for k, values in report.items() for v in values)
    missing = [key for key in REPORTED if key not in report]
    assert missing == [], f"the report lacks {missing}:\n{shown}"

    # cloud-init from the target's own packages, switched on by the install, finished without errors.
    assert report["cloud-init-package"][0].startswith("cloud-init 22."), shown
    assert report["marker"] == ["absent"], shown
    assert "status: done" in report["cloud-init-status"], shown
    assert report["cloud-init-status-rc"] == ["0"], shown
    assert report["cloud-init-errors"] == ["[]"], shown
    stages = json.loads(report["cloud-init-stage-errors"][0])
    assert stages and set(stages.values()) == {0}, shown
    assert report["cloud-init-datasource"][0].startswith("DataSourceNoCloud"), shown
    # ds-identify's choice from the installer's datasource_list: NoCloud alone (None is its fallback).
    listed = report["cloud-init-ds-identify"][0].removeprefix("datasource_list:").strip(" []")
    assert {name.strip() for name in listed.split(",")} - {"None"} == {"NoCloud"}, shown
    bad = [line for line in report.get("cloud-init-log", []) if "[WARNING]" not in line]
    assert bad == [], shown  # warnings are shown (e.g. no ssh-keygen for host keys: no SSH server); errors fail

    # What the seed asked for: the file, the user with its key, the command (run after both).
    assert report["file"] == [written["content"].rstrip("\n")], shown
    passwd = report["user"][0].split(":")
    assert passwd[0] == user["name"] and passwd[6] == user["shell"], shown
    assert report["key"] == user["ssh_authorized_keys"], shown
    assert report["runcmd"] == [f"runcmd ran as root for {passwd[5]}"], shown
    assert report["state"][0] in ("running", "degraded"), shown  # multi-user reached
