"""A fleet: four guests network-booted from one `azl-installer serve`, each picking its own profile.

The ISO's netboot files (iso/netboot.py) with inst.profile=@SERVER@/fleet/: one guest has a profile by
its SMBIOS UUID, one by its serial, one by its MAC, and one takes default.yaml. Each installs the live
root as an image (vm-bios.yaml, the sample repository over HTTP), reports its result to the server's
/results/, and its installed disk then boots alone (no network boot, no ISO) and runs its first-boot
check. Two guests at a time (2 cores under TCG).

Slow: four installs, each with Debian's update-initramfs (minutes under TCG). Not in `make test` yet
(the tier's time budget; see docs/fleet.md); `make test-fleet` runs it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from iso.netboot import make_netboot
from iso.vm.qemu import NETBOOT_IP
from tests.support.fleet import Guest, install_all, running_server
from tests.support.images import REPO

pytestmark = [pytest.mark.vm, pytest.mark.fleet]

SERVER = f"http://{NETBOOT_IP}"
UUID = "5a1c0de0-0000-4000-8000-00000000000a"
# Each guest, and the file of fleet/ it must pick by its identity.
GUESTS = ((Guest("fleet-uuid", ("--uuid", UUID)), UUID), (Guest("fleet-serial", ("--serial", "AZL-FLEET-B")),
          "AZL-FLEET-B"), (Guest("fleet-mac", ("--mac", "52:54:00:fe:00:0c")), "52-54-00-fe-00-0c"),
          (Guest("fleet-default", ("--mac", "52:54:00:fe:00:0d")), "default"))


def fleet_profile(hostname: str) -> str:
    """vm-bios.yaml (the live root as an image) with the sample repository over HTTP and a report_url."""
    profile = yaml.safe_load((REPO / "iso/profiles/vm-bios.yaml").read_text())
    profile["system"]["hostname"] = hostname
    profile["payload"]["repositories"][0]["baseurl"] = f"{SERVER}/repo"  # the netboot directory's copy
    profile["report_url"] = f"{SERVER}/results/"
    return str(yaml.safe_dump(profile, sort_keys=False))


def test_four_guests_pick_their_profiles_report_and_boot(installer_iso: Path, tmp_path: Path) -> None:
    www = tmp_path / "www"
    make_netboot(installer_iso, www, append=["inst.profile=@SERVER@/fleet/"])
    (www / "fleet").mkdir()
    for guest, picks in GUESTS:
        (www / "fleet" / f"{picks}.yaml").write_text(fleet_profile(guest.name))
    results = tmp_path / "results"
    with running_server(www, results) as (port, said):
        runs, wall = install_all([g for g, _ in GUESTS], port, tmp_path, timeout=1800)
    print(f"fleet: 4 guests in {wall:.0f} s (two at a time); each: "
          + ", ".join(f"{r.guest.name} {r.seconds:.0f} s" for r in runs))
    for run, (_, picks) in zip(runs, GUESTS, strict=True):
        serial = run.serial.read_text(errors="replace")
        assert run.done.returncode == 0, f"{run.guest.name}: {run.done.stderr[-3000:]}\n{serial[-4000:]}"
        assert f"launcher: this machine's profile: {SERVER}/fleet/{picks}.yaml" in serial, serial[-4000:]
        assert "launcher: the fetched live root matches inst.live_sha256" in serial
        # The installed disk's own boot (after the install, from the disk alone): its first-boot check.
        check = serial[serial.rfind("AZL-BOOT-CHECK begin"):]
        assert "AZL-BOOT-CHECK end" in check, serial[-4000:]
        assert re.search(r"^(running|degraded)\s*$", check, re.M), check
    reports = {path.stem: json.loads(path.read_text()) for path in results.glob("*.json")}
    by_host = {doc["hostname"]: doc for doc in reports.values()}
    assert sorted(by_host) == sorted(g.name for g, _ in GUESTS), reports
    assert all(doc["result"] == "installed" and doc["exit_code"] == 0 for doc in by_host.values()), reports
    assert by_host["fleet-uuid"]["machine"]["uuid"] == UUID
    assert by_host["fleet-serial"]["machine"]["serial"] == "AZL-FLEET-B"
    assert {p.name for p in results.glob("*.tar.gz")} == {f"{name}.tar.gz" for name in reports}
    printed = "\n".join(said)
    assert printed.count("serve: result of ") == 4 and "installed (exit code 0)" in printed, printed
