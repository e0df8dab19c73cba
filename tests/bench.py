"""`make bench`: the project's speed and memory figures, each against its goal (tests/support/benchkit.py).

  .venv/bin/python -m tests.bench [--part sample,testdistro,ui,vm,fleet]

Parts (all by default, in this order):
  sample      plan time; the payload step of a whole install against bare dnf (the small sample repository)
  testdistro  the payload step against bare dnf on the Azure Linux test distribution's server set, dnf 4
              and dnf5 (sid root); a whole install into a disk image against a raw copy of its bytes
  ui          the first usable screen and the UI's peak memory (tmux, 80x24)
  vm          ISO builds, boot to the installer prompt (Debian- and RPM-built ISOs), an install in the guest
              and the installed system's boot, encrypted and Trusted Launch installs (tests/bench_vm.py)
  fleet       network-booted guests from one `azl-installer serve`: four two at a time against one
              (tests/bench_fleet.py)

Run as root (loop devices, chroots, QEMU). A part that fails is reported as FAILED after the figures and
makes the exit code 1; the other parts still run. tests/integration/test_bench.py runs every part on tiny
inputs (Inputs.tiny) so the bench cannot rot between the runs that quote it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from installer.core.events import EventBus
from installer.core.runner import RealRunner
from installer.payload.bench import bare_dnf_seconds
from installer.plan import make_plan
from installer.targetimage import image_profile, planned_image_inventory
from profiles import load_profile
from tests import bench_fleet, bench_testdistro, bench_ui, bench_vm
from tests.support.benchkit import (
    Inputs,
    Report,
    install_from_profile,
    installed,
    payload_step,
    side_by_side,
    step_seconds,
    warm,
)

PARTS = ("sample", "testdistro", "ui", "vm", "fleet")


# ---- sample: plan time, and the payload step of a whole install against bare dnf ----

def plan_seconds(inputs: Inputs) -> float:
    profile = load_profile(inputs.sample_profile)
    runs = []
    for _ in range(inputs.plan_runs):
        started = time.perf_counter()
        make_plan(image_profile(profile, "/tmp/x.img"), planned_image_inventory(Path("/tmp/x.img"), 4 * 1024**3))
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def sample_part(report: Report, inputs: Inputs, work: Path) -> None:
    report.number(f"plan time (sample profile, median of {inputs.plan_runs}): {plan_seconds(inputs) * 1000:.2f} ms")
    total, events = install_from_profile(inputs.sample_profile, work / "disk.img", inputs.sample_image_size, work)
    report.number(f"sample install into a {inputs.sample_image_size} image, end to end: {total:.1f} s (its payload "
                  f"step {step_seconds(events, 'payload'):.1f} s)")
    # The repository has no environment of its own (the installer's comps brings azure-server): the bare
    # command gets the packages the payload step installed, by name.
    payload = load_profile(inputs.sample_profile).payload
    names: list[str] = []

    def ours(where: Path) -> float:
        seconds = payload_step(payload, RealRunner(EventBus()), where)
        names[:] = names or installed(where / "root")[0]
        return seconds

    def bare(where: Path) -> float:
        if not names:
            ours(where / "first")  # the package list comes from a run of ours
        return bare_dnf_seconds(inputs.sample_repo.as_uri(), names, where)

    warm(inputs.sample_repo)
    step, baseline = side_by_side(ours, bare, inputs.payload_repeats, work / "payload")
    report.ratio("payload-sample-dnf4", step, baseline, 1.1)
    report.number(f"sample repository: payload step ({len(names)} packages) {step:.2f} s, bare dnf --installroot of "
                  f"them {baseline:.2f} s (medians of {inputs.payload_repeats})")


def _one_line(err: Exception) -> str:
    """What failed, in one line: for a command, its argv[0..3] and the last line it wrote to stderr."""
    if isinstance(err, subprocess.CalledProcessError):
        output = err.stderr.decode(errors="replace") if isinstance(err.stderr, bytes) else (err.stderr or "")
        said = [line for line in output.splitlines() if line.strip()]
        argv = " ".join(str(a) for a in err.cmd[:4]) if isinstance(err.cmd, list) else str(err.cmd)
        return f"`{argv} ...` exited {err.returncode}: {said[-1] if said else '(no output)'}"
    lines = str(err).splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"


def run(report: Report, inputs: Inputs, parts: Sequence[str], work: Path) -> None:
    table: dict[str, Callable[[Report, Inputs, Path], None]] = {
        "sample": sample_part, "testdistro": bench_testdistro.part, "ui": bench_ui.part, "vm": bench_vm.part,
        "fleet": bench_fleet.part}
    for name in parts:
        started = time.monotonic()
        (work / name).mkdir(parents=True, exist_ok=True)
        try:
            table[name](report, inputs, work / name)
        except Exception as err:  # a broken part is a line in the report; the other parts still measure
            print(traceback.format_exc(), file=report.progress)
            report.failed(name, _one_line(err))
        report.number(f"part {name}: {time.monotonic() - started:.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    args = parser.parse_args(argv)
    parts = [p for p in args.part.split(",") if p]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown part {', '.join(unknown)}; the parts are {', '.join(PARTS)}")
    if os.geteuid() != 0:
        print("bench: run as root (loop devices, chroots, QEMU)", file=sys.stderr)
        return 2
    report = Report()
    with tempfile.TemporaryDirectory(prefix="azl-bench-", dir="/var/tmp") as tmp:
        run(report, Inputs.full(), parts, Path(tmp))
    sys.stdout.write(report.render())
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
