"""`make bench`'s shared pieces: what it measures (Inputs), what it prints (Report: one `RATIO name value
goal` line per figure the project has a goal for, then the absolute numbers behind them), and the install
it times.

A ratio is measured against its baseline in the same run, on the same machine, one right after the other
(the payload step against a bare `dnf --installroot` of the same packages, a whole install against a raw
copy of its bytes), so a loaded or a fast host moves both sides. Figures with an absolute goal (seconds to
the installer prompt, megabytes of memory) print the measured value against that goal. Lower is better
for every figure: a value at or below its goal meets it.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from installer.core.events import EventBus
from installer.core.runner import Runner
from installer.payload import install_payload
from installer.payload.dnf import RPM_DBPATH
from profiles.model import Payload

TOP = Path(__file__).parents[2]


@dataclass(frozen=True)
class Ratio:
    name: str
    value: float
    goal: float

    def line(self) -> str:
        return f"RATIO {self.name} {self.value:.2f} {self.goal:g}"

    @property
    def met(self) -> bool:
        return self.value <= self.goal


@dataclass
class Report:
    """Figures as the parts of the bench measure them; progress goes to `progress` as it comes."""

    progress: TextIO = field(default=sys.stderr)
    ratios: list[Ratio] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def ratio(self, name: str, measured: float, baseline: float, goal: float) -> float:
        """measured / baseline, both in the same unit and taken side by side in this run."""
        value = measured / baseline if baseline > 0 else math.inf
        self.ratios.append(Ratio(name, value, goal))
        return value

    def target(self, name: str, measured: float, goal: float) -> None:
        """An absolute figure (seconds, MiB) against its goal in the same unit."""
        self.ratios.append(Ratio(name, measured, goal))

    def number(self, line: str) -> None:
        self.numbers.append(line)
        print(f"bench: {line}", file=self.progress, flush=True)

    def failed(self, part: str, reason: str) -> None:
        self.failures.append(f"{part}: {reason}")
        print(f"bench: {part} FAILED: {reason}", file=self.progress, flush=True)

    def render(self) -> str:
        lines = [r.line() for r in self.ratios]
        lines += ["", *self.numbers] if self.numbers else []
        lines += ["", *(f"FAILED {f}" for f in self.failures)] if self.failures else []
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Inputs:
    """What each part measures; full() is `make bench`, tiny() the test's few-second version of each."""

    sample_profile: Path = TOP / "profiles/examples/sample.yaml"
    sample_repo: Path = TOP / "build/sample-repo"
    sample_image_size: str = "4GiB"
    plan_runs: int = 50
    distro_repo: Path = TOP / "build/azl-repo"
    distro_groups: tuple[str, ...] = ("core", "azure-vm-server")
    distro_packages: tuple[str, ...] = ("grub2-pc", "grub2-tools", "dracut", "selinux-policy-targeted",
                                        "policycoreutils")
    distro_image_size: str = "6GiB"
    distro_install_extra: str = "system: {hostname: bench, selinux: enforcing}"
    # Runs of each side of a payload ratio (medians, the order alternating): single runs of the full set swung
    # from 0.65 to 1.42 between two quiet runs of the bench (2026-12-02).
    payload_repeats: int = 3
    ui_runs: int = 3
    iso: Path = TOP / "build/azl-installer.iso"
    rpm_iso: Path | None = TOP / "build/azl-installer-rpm.iso"
    build_isos: bool = True  # with False the ISOs must exist (the test's fake one)
    guest_profile: Path = TOP / "iso/profiles/vm-uefi.yaml"
    prompt_pattern: str = "AZL-LIVE-READY"
    guest_timeout: float = 1800
    slow_guests: bool = True  # the encrypted and the Trusted Launch installs (AZL_BENCH_SKIP_TRUSTED=1: not the latter)
    fleet_guests: int = 4
    fleet_profile: Path | None = TOP / "iso/profiles/vm-bios.yaml"  # None: the fake ISO, which takes none

    @classmethod
    def full(cls) -> Inputs:
        return cls()

    @classmethod
    def tiny(cls, fake_iso: Path) -> Inputs:
        """The sample repository stands in for the test distribution (its group and one package), one run of
        the UI, the payloads' three runs each (seconds each), and the fake installer ISO (tests/support/images.py) for
        the guest parts."""
        return replace(cls(), plan_runs=2, distro_repo=TOP / "build/sample-repo",
                       distro_groups=("sample-extras",), distro_packages=("bash",), distro_image_size="4GiB",
                       distro_install_extra="bootloader: {enabled: false}\nsystem: {selinux: disabled}",
                       ui_runs=1,
                       iso=fake_iso, rpm_iso=None, build_isos=False, prompt_pattern="AZL-INSTALL-RESULT",
                       guest_timeout=300, slow_guests=False, fleet_profile=None)


def install_from_profile(profile: Path, image: Path, size: str, work: Path) -> tuple[float, list[dict[str, object]]]:
    """Seconds `azl-installer install --target-image` takes end to end, and its events."""
    events = work / "events.jsonl"
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "installer", "install", "--profile", str(profile), "--target-image",
                    str(image), "--image-size", size, "--yes", "--log-dir", str(work / "logs"), "--events",
                    str(events)], check=True, capture_output=True, cwd=TOP)
    seconds = time.monotonic() - started
    return seconds, [json.loads(line) for line in events.read_text().splitlines()]


def step_seconds(events: Sequence[dict[str, object]], step: str) -> float:
    stamps = {e["kind"]: float(str(e["time"])) for e in events
              if e["step"] == step and e["kind"] in ("step-started", "step-finished")}
    return stamps["step-finished"] - stamps["step-started"]


def payload_step(payload: Payload, runner: Runner, work: Path) -> float:
    """Seconds the payload step takes into a fresh root (work/root), with fresh scratch space (no dnf cache)."""
    root = work / "root"
    root.mkdir(parents=True)
    started = time.monotonic()
    install_payload(payload, root, runner, EventBus(), work / "scratch")
    return time.monotonic() - started


def installed(root: Path) -> tuple[list[str], int]:
    """The names of the packages in root's rpm database, and root's size in bytes."""
    names = subprocess.run(["rpm", "--root", str(root), "--dbpath", RPM_DBPATH, "-qa", "--qf", "%{NAME}\n"],
                           capture_output=True, text=True, check=True).stdout.split()
    size = int(subprocess.run(["du", "-sb", str(root)], capture_output=True, text=True, check=True).stdout.split()[0])
    return sorted(names), size


def warm(directory: Path) -> None:
    """Read every file under directory once: the first of two runs must not pay alone for reading the
    repository from disk while the second finds it in the page cache."""
    for path in directory.rglob("*"):
        if path.is_file():
            with open(path, "rb") as stream:
                while stream.read(1 << 20):
                    pass


def side_by_side(ours: Callable[[Path], float], bare: Callable[[Path], float], repeats: int,
                 work: Path) -> tuple[float, float]:
    """Medians of `repeats` runs of each, each run in a fresh directory, alternating which goes first."""
    times: dict[str, list[float]] = {"ours": [], "bare": []}
    for run in range(repeats):
        order = [("ours", ours), ("bare", bare)]
        for label, measure in order if run % 2 == 0 else order[::-1]:
            where = work / f"{label}-{run}"
            times[label].append(measure(where))
            shutil.rmtree(where, ignore_errors=True)
    return statistics.median(times["ours"]), statistics.median(times["bare"])


def slowest_steps(events: Sequence[dict[str, object]], count: int = 5) -> str:
    """The install's slowest steps, "payload 61.2 s, bootloader 40.1 s, ...", from its events."""
    steps = dict.fromkeys(str(e["step"]) for e in events if e["kind"] == "step-finished")
    timed = sorted(((step_seconds(events, step), step) for step in steps), reverse=True)
    return ", ".join(f"{step} {seconds:.1f} s" for seconds, step in timed[:count])


RATIO_LINE = re.compile(r"^RATIO (\S+) (\d+\.\d\d) (\d+(?:\.\d+)?)$")


def check_rendered(report: Report, names: list[str]) -> None:
    """Every figure measured (finite, above zero), one RATIO line each before the numbers, no part failed."""
    assert report.failures == [], report.failures
    assert [r.name for r in report.ratios] == names
    assert all(math.isfinite(r.value) and r.value > 0 for r in report.ratios), report.ratios
    lines = report.render().splitlines()
    ratios = [RATIO_LINE.match(line) for line in lines[:len(names)]]
    assert [m.group(1) for m in ratios if m] == names, lines
    assert lines[len(names)] == "" and lines[len(names) + 1:] == report.numbers
