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
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from iso.netboot import make_netboot
from iso.vm.qemu import NETBOOT_IP
from tests.support.encrypted_vm import REPO

pytestmark = [pytest.mark.vm, pytest.mark.fleet]

SERVER = f"http://{NETBOOT_IP}"


@dataclass(frozen=True)
class Guest:
    name: str
    options: tuple[str, ...]  # its identity, as `vm` gives it to QEMU
    profile_file: str  # the file of fleet/ it must pick


GUESTS = (
    Guest("fleet-uuid", ("--uuid", "5a1c0de0-0000-4000-8000-00000000000a"), "5a1c0de0-0000-4000-8000-00000000000a"),
    Guest("fleet-serial", ("--serial", "AZL-FLEET-B"), "AZL-FLEET-B"),
    Guest("fleet-mac", ("--mac", "52:54:00:fe:00:0c"), "52-54-00-fe-00-0c"),
    Guest("fleet-default", ("--mac", "52:54:00:fe:00:0d"), "default"),
)


def fleet_profile(hostname: str) -> str:
    profile = yaml.safe_load((REPO / "iso/profiles/vm-bios.yaml").read_text())
    profile["system"]["hostname"] = hostname
    profile["payload"]["repositories"][0]["baseurl"] = f"{SERVER}/repo"  # the netboot directory's copy
    profile["report_url"] = f"{SERVER}/results/"
    return str(yaml.safe_dump(profile, sort_keys=False))


def start_server(root: Path, results: Path) -> tuple[subprocess.Popen[str], int]:
    """`azl-installer serve` as an operator starts it, on a free loopback port (read from its first line)."""
    server = subprocess.Popen([sys.executable, "-m", "installer", "serve", str(root), "--bind", "127.0.0.1:0",
                               "--results", str(results), "--quiet"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    assert server.stderr is not None
    first = server.stderr.readline()
    found = re.search(r"at http://127\.0\.0\.1:(\d+)/", first)
    assert found, first
    return server, int(found.group(1))


def install(guest: Guest, port: int, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "installer", "vm", "--netboot", str(port), "--firmware", "bios", *guest.options,
         "--cpus", "1", "--disk-size", "4GiB", "--workdir", str(tmp_path / guest.name), "--console",
         str(tmp_path / f"{guest.name}.log"), "--timeout", "1800"],
        cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=4000)
    return done, time.monotonic() - started


def test_four_guests_pick_their_profiles_report_and_boot(installer_iso: Path, tmp_path: Path) -> None:
    www = tmp_path / "www"
    make_netboot(installer_iso, www, append=["inst.profile=@SERVER@/fleet/"])
    (www / "fleet").mkdir()
    for guest in GUESTS:
        (www / "fleet" / f"{guest.profile_file}.yaml").write_text(fleet_profile(guest.name))
    results = tmp_path / "results"
    server, port = start_server(www, results)
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:  # two guests at a time on two cores
            runs = list(pool.map(lambda g: install(g, port, tmp_path), GUESTS))
    finally:
        server.terminate()
        _, said = server.communicate(timeout=30)
    wall = time.monotonic() - started
    print(f"fleet: 4 guests in {wall:.0f} s (two at a time); each: "
          + ", ".join(f"{g.name} {seconds:.0f} s" for g, (_, seconds) in zip(GUESTS, runs, strict=True)))
    for guest, (done, _) in zip(GUESTS, runs, strict=True):
        serial = (tmp_path / f"{guest.name}.log").read_text(errors="replace")
        assert done.returncode == 0, f"{guest.name}: {done.stderr[-3000:]}\n{serial[-4000:]}"
        assert f"launcher: this machine's profile: {SERVER}/fleet/{guest.profile_file}.yaml" in serial, serial[-4000:]
        assert "launcher: the fetched live root matches inst.live_sha256" in serial
        # The installed disk's own boot (after the install, from the disk alone): its first-boot check.
        check = serial[serial.rfind("AZL-BOOT-CHECK begin"):]
        assert "AZL-BOOT-CHECK end" in check, serial[-4000:]
        assert re.search(r"^(running|degraded)\s*$", check, re.M), check
    reports = {path.stem: json.loads(path.read_text()) for path in results.glob("*.json")}
    by_host = {doc["hostname"]: doc for doc in reports.values()}
    assert sorted(by_host) == sorted(g.name for g in GUESTS), reports
    assert all(doc["result"] == "installed" and doc["exit_code"] == 0 for doc in by_host.values()), reports
    assert by_host["fleet-uuid"]["machine"]["uuid"] == GUESTS[0].profile_file
    assert by_host["fleet-serial"]["machine"]["serial"] == "AZL-FLEET-B"
    assert {p.name for p in results.glob("*.tar.gz")} == {f"{name}.tar.gz" for name in reports}
    assert said.count("serve: result of ") == 4 and "installed (exit code 0)" in said, said
