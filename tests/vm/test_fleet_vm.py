"""A fleet: four guests network-booted from one `azl-installer serve`, each picking its own profile.

The ISO's netboot files (iso/netboot.py) with inst.profile=@SERVER@/fleet/: one guest has a profile by
its SMBIOS UUID, one by its serial, one by its MAC, and one takes default.yaml. Each installs the live
root as an image (vm-bios.yaml, the sample repository over HTTP), reports its result to the server's
/results/, and its installed disk then boots alone (no network boot, no ISO) and runs its first-boot
check. Two guests at a time (2 cores under TCG).

The four-guest fleet is `make test-fleet` (303 s alone, 649 s beside a third guest, under TCG; not yet in
`make test`, which has room for it now: docs/performance.md).
`make test` runs two guests of the same setup instead, one scenario for several features: one picks its
profile by UUID, installs and boots; the other falls back to default.yaml, whose pre-install script fails
once its disk is partitioned and mounted, reports `failed` with the step to the same server, and leaves
the disk it was not given byte for byte as it was.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from iso.netboot import make_netboot
from iso.vm.qemu import NETBOOT_IP
from tests.support.fleet import Guest, GuestRun, install_all, running_server
from tests.support.images import REPO, data_disk

pytestmark = pytest.mark.vm

SERVER = f"http://{NETBOOT_IP}"
UUID = "5a1c0de0-0000-4000-8000-00000000000a"
# Each guest, and the file of fleet/ it must pick by its identity.
GUESTS = ((Guest("fleet-uuid", ("--uuid", UUID)), UUID), (Guest("fleet-serial", ("--serial", "AZL-FLEET-B")),
          "AZL-FLEET-B"), (Guest("fleet-mac", ("--mac", "52:54:00:fe:00:0c")), "52-54-00-fe-00-0c"),
          (Guest("fleet-default", ("--mac", "52:54:00:fe:00:0d")), "default"))


def fleet_profile(hostname: str, *, fails: bool = False) -> str:
    """vm-bios.yaml (the live root as an image) with the sample repository over HTTP and a report_url; with
    fails, a pre-install script (run once the target is partitioned and mounted) exits 7."""
    profile = yaml.safe_load((REPO / "iso/profiles/vm-bios.yaml").read_text())
    profile["system"]["hostname"] = hostname
    profile["payload"]["repositories"][0]["baseurl"] = f"{SERVER}/repo"  # the netboot directory's copy
    profile["report_url"] = f"{SERVER}/results/"
    if fails:
        profile["scripts"]["pre_install"] = [{"name": "refuse", "body": "echo refusing on purpose; exit 7"}]
    return str(yaml.safe_dump(profile, sort_keys=False))


def serve_fleet(iso: Path, tmp_path: Path, profiles: dict[str, str]) -> Path:
    """The netboot directory with fleet/<name>.yaml for each profile; returns it."""
    www = tmp_path / "www"
    make_netboot(iso, www, append=["inst.profile=@SERVER@/fleet/"])
    (www / "fleet").mkdir()
    for name, text in profiles.items():
        (www / "fleet" / f"{name}.yaml").write_text(text)
    return www


def check_installed(run: GuestRun, picks: str) -> None:
    """The guest network-booted, took its own profile, installed, and its disk then booted alone."""
    serial = run.serial.read_text(errors="replace")
    assert run.done.returncode == 0, f"{run.guest.name}: {run.done.stderr[-3000:]}\n{serial[-4000:]}"
    assert f"launcher: this machine's profile: {SERVER}/fleet/{picks}.yaml" in serial, serial[-4000:]
    assert "launcher: the fetched live root matches inst.live_sha256" in serial
    # The installed disk's own boot (after the install, from the disk alone): its first-boot check.
    check = serial[serial.rfind("AZL-BOOT-CHECK begin"):]
    assert "AZL-BOOT-CHECK end" in check, serial[-4000:]
    assert re.search(r"^(running|degraded)\s*$", check, re.M), check


def reports_by_host(results: Path) -> dict[str, dict[str, Any]]:
    """Each result document the server received, by the host name in it."""
    reports = {path.stem: json.loads(path.read_text()) for path in results.glob("*.json")}
    assert {p.name for p in results.glob("*.tar.gz")} == {f"{name}.tar.gz" for name in reports}  # each a bundle
    return {str(doc["hostname"]): doc for doc in reports.values()}


@pytest.mark.minutes(4)  # 218 s in make test (2026-12-03)
def test_two_guests_one_installs_one_fails_both_report(installer_iso: Path, tmp_path: Path) -> None:
    other = data_disk(tmp_path / "other.img")
    installs, fails = Guest("fleet-uuid", ("--uuid", UUID)), \
        Guest("fleet-fails", ("--mac", "52:54:00:fe:00:0f", "--other-disk", str(other)))
    www = serve_fleet(installer_iso, tmp_path, {UUID: fleet_profile(installs.name),
                                                "default": fleet_profile(fails.name, fails=True)})
    results = tmp_path / "results"
    with running_server(www, results) as (port, said):
        (installed, failed), wall = install_all([installs, fails], port, tmp_path, timeout=1800)
    print(f"fleet: 2 guests in {wall:.0f} s ({installed.seconds:.0f} s, {failed.seconds:.0f} s)")
    check_installed(installed, UUID)

    # The failed one: exit 1 with the step named, the guest's log shown, the other disk untouched.
    stderr, serial = failed.done.stderr, failed.serial.read_text(errors="replace")
    assert failed.done.returncode == 1, stderr[-3000:] + serial[-4000:]
    assert f"launcher: this machine's profile: {SERVER}/fleet/default.yaml" in serial, serial[-4000:]
    assert "the install failed with rc=1" in stderr and "refusing on purpose" in stderr, stderr[-3000:]
    assert re.search(r"other disk \S+other\.img unchanged", stderr), stderr[-3000:]

    by_host = reports_by_host(results)
    assert sorted(by_host) == ["fleet-fails", "fleet-uuid"], by_host
    assert by_host["fleet-uuid"]["result"] == "installed" and by_host["fleet-uuid"]["exit_code"] == 0, by_host
    bad = by_host["fleet-fails"]
    assert bad["result"] == "failed" and bad["exit_code"] == 1 and bad["step"], bad
    assert "exit code 7" in str(bad["message"]), bad  # the one-line reason: the script's own exit code
    printed = "\n".join(said)
    assert printed.count("serve: result of ") == 2 and "failed (exit code 1)" in printed, printed


@pytest.mark.fleet
def test_four_guests_pick_their_profiles_report_and_boot(installer_iso: Path, tmp_path: Path) -> None:
    www = serve_fleet(installer_iso, tmp_path, {picks: fleet_profile(guest.name) for guest, picks in GUESTS})
    results = tmp_path / "results"
    with running_server(www, results) as (port, said):
        runs, wall = install_all([g for g, _ in GUESTS], port, tmp_path, timeout=1800)
    print(f"fleet: 4 guests in {wall:.0f} s (two at a time); each: "
          + ", ".join(f"{r.guest.name} {r.seconds:.0f} s" for r in runs))
    for run, (_, picks) in zip(runs, GUESTS, strict=True):
        check_installed(run, picks)
    by_host = reports_by_host(results)
    assert sorted(by_host) == sorted(g.name for g, _ in GUESTS), by_host
    assert all(doc["result"] == "installed" and doc["exit_code"] == 0 for doc in by_host.values()), by_host
    assert by_host["fleet-uuid"]["machine"]["uuid"] == UUID
    assert by_host["fleet-serial"]["machine"]["serial"] == "AZL-FLEET-B"
    printed = "\n".join(said)
    assert printed.count("serve: result of ") == 4 and "installed (exit code 0)" in printed, printed
