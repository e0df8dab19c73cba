"""`make bench`, part fleet: network-booted guests from one `azl-installer serve`, four against one.

The ISO's network boot files (iso/netboot.py); every guest takes fleet/default.yaml (vm-bios.yaml, the
live root as an image, its sample repository over HTTP), reports to the server, and its installed disk
boots alone to its first-boot check. One guest alone, then four two at a time (one CPU each, as the VM
tests run them); the ratio's goal is 2: four guests in two rounds of two on two cores. The test runs it
on the fake installer ISO (tests/vm/test_bench_vm.py): the same code, seconds per guest.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from iso.netboot import make_netboot
from iso.vm.qemu import NETBOOT_IP
from tests.support.benchkit import Inputs, Report
from tests.support.fleet import Guest, GuestRun, install_all, running_server

GOAL = 2.0  # four guests, two at a time on two cores: two rounds


def default_profile(profile: Path) -> str:
    data = yaml.safe_load(profile.read_text())
    data["system"]["hostname"] = "bench-fleet"
    data["payload"]["repositories"][0]["baseurl"] = f"http://{NETBOOT_IP}/repo"  # the netboot directory's copy
    data["report_url"] = f"http://{NETBOOT_IP}/results/"
    return str(yaml.safe_dump(data, sort_keys=False))


def _check(runs: list[GuestRun]) -> None:
    for run in runs:
        if run.done.returncode != 0:
            tail = run.done.stderr.strip().splitlines()[-1:] or ["(no output)"]
            raise RuntimeError(f"guest {run.guest.name} failed (exit {run.done.returncode}): {tail[0]}; "
                               f"serial log {run.serial}")


def part(report: Report, inputs: Inputs, work: Path) -> None:
    www = work / "www"
    profile = inputs.fleet_profile
    make_netboot(inputs.iso, www, append=["inst.profile=@SERVER@/fleet/"] if profile else [])
    if profile is not None:
        (www / "fleet").mkdir()
        (www / "fleet" / "default.yaml").write_text(default_profile(profile))
    guests = [Guest(f"guest-{i}", ("--mac", f"52:54:00:fe:01:{i:02x}")) for i in range(inputs.fleet_guests)]
    with running_server(www, work / "results") as (port, _):
        alone, one = install_all(guests[:1], port, work / "one", timeout=inputs.guest_timeout, at_once=1)
        _check(alone)
        runs, many = install_all(guests, port, work / "many", timeout=inputs.guest_timeout)
        _check(runs)
    report.target(f"fleet-{len(guests)}-guests-vs-1", many / one, GOAL)
    report.number(f"network boot, install and the installed disk's first boot: 1 guest {one:.0f} s, "
                  f"{len(guests)} guests two at a time {many:.0f} s (each "
                  + ", ".join(f"{r.seconds:.0f}" for r in runs) + " s)")
