"""The soak (issue 14): 50 host installs of the sample profile in a row, half of them stopped by SIGTERM.

All 50 install onto one image file, as a user runs the same install again after stopping one: every run
starts from what the one before it left on the image, a finished install or a half-written one. Which runs
are stopped, and when, is drawn from a seed (AZL_SOAK_SEED, else one printed with the results): a moment
between the start of the process and a little past the length of a whole install, so that some signals come
before the installer has set its handlers, most while it works, and some after it has ended.

After every run (the next run on the same image would release some of it: counted before that) and at the
end: no loop device on the image, no mount under a target directory or the test's directory, no new
device-mapper node, nothing in the installs' TMPDIR, no target directory, no lock file of the image or holder
of one, and no process naming the test's directory or a target. Each stopped run ended as the installer
promises (exit 143 and one line saying where; exit 0 and a line when the install had ended); every other
run installed (exit 0).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.loop import ROOT_ONLY
from tests.support.sample_profile import sample_profile
from tests.support.stopping import install_argv, installer_env, leftovers, mapper_nodes, release_leftovers

RUNS, STOPPED = 50, 25


@pytest.fixture(autouse=True)
def _taken_down(tmp_path: Path) -> Iterator[None]:
    """What this test's installs left (a killed one; a test that failed half-way) is taken down afterwards."""
    yield
    release_leftovers(tmp_path)


def _outcome(stopped: bool, signalled: bool, code: int, stderr: str) -> str | None:
    """How a run ended, in a few words (stopped: drawn to be; signalled: still running at its moment); None when
    that is not how an install may end."""
    if "Traceback" in stderr:
        return None
    lines = [line.removeprefix("azl-installer: ") for line in stderr.splitlines() if line.startswith("azl-installer:")]
    if code == 0 and any(line.startswith("installed onto disk image") for line in lines):
        if any(line == "stopped by SIGTERM after the install ended (exit code 0)" for line in lines):
            return "ended, then the signal (exit 0, said so)"
        if not stopped:
            return "installed"
        return "ended as the signal came" if signalled else "installed before its moment"
    if not signalled:
        return None
    if code == 128 + signal.SIGTERM:
        said = [line for line in lines if "stopped by SIGTERM" in line]
        if len(said) != 1:
            return None
        if said[0].startswith("install stopped by SIGTERM in step '"):
            return "stopped in " + said[0].split("'")[1]
        if said[0].startswith("install stopped by SIGTERM between two steps"):
            return "stopped between two steps"
        if said[0] == "stopped by SIGTERM before the install started; no disk was written":
            return "stopped before the install started"
        return None
    if code == -signal.SIGTERM:  # the signal's default action: the installer's handlers not set (yet, or any more)
        if not stderr.strip():
            return "killed starting up, before its handlers"
        if lines and lines[-1].startswith("installed onto disk image"):
            return "killed after the install had ended (exit -15)"
    return None


@ROOT_ONLY
@pytest.mark.heavy
def test_fifty_installs_half_of_them_stopped_leave_nothing_behind(tmp_path: Path, sample_repo: Path) -> None:
    image, scratch, logs = tmp_path / "disk.img", tmp_path / "tmp", tmp_path / "logs"
    scratch.mkdir()
    argv = install_argv(sample_profile(tmp_path, sample_repo), image, logs)
    env = installer_env(scratch)
    seed = int(os.environ.get("AZL_SOAK_SEED") or time.time_ns() % 1_000_000)
    rng = random.Random(seed)
    stopped = set(rng.sample(range(1, RUNS), STOPPED))  # the first run is whole: it times an install
    mapper = mapper_nodes()
    pids: list[int] = []
    rows: list[str] = []
    problems: list[str] = []
    outcomes: Counter[str] = Counter()
    length = 0.0
    started = time.monotonic()
    for run in range(RUNS):
        moment = rng.uniform(0, 1.1 * length) if run in stopped else None
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        pids.append(proc.pid)
        begun = time.monotonic()
        try:
            signalled = False
            if moment is not None:
                try:
                    proc.wait(timeout=moment)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGTERM)
                    signalled = True
            _, stderr = proc.communicate(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
        took = time.monotonic() - begun
        length = length or took
        outcome = _outcome(moment is not None, signalled, proc.returncode, stderr)
        outcomes[outcome or "WRONG"] += 1
        when = "" if moment is None else f"SIGTERM at {moment:.2f} s"
        rows.append(f"{run:2d} {when:18} exit {proc.returncode:4d} {took:5.2f} s  {outcome or 'WRONG'}")
        if outcome is None:
            problems.append(f"run {run} ({when or 'not stopped'}) ended with exit {proc.returncode}:\n"
                            f"{stderr[-2000:]}")
        found = leftovers(tmp_path, [image], pids, scratch, mapper)
        if found:
            problems.append(f"run {run} ({when or 'not stopped'}, {outcome}) left {found}")
    wall = time.monotonic() - started
    final = leftovers(tmp_path, [image], pids, scratch, mapper)
    print(f"\nsoak: {RUNS} installs onto one image, seed {seed} (AZL_SOAK_SEED={seed} repeats it), "
          f"SIGTERM in runs {sorted(stopped)}\n" + "\n".join(rows)
          + "\noutcomes: " + ", ".join(f"{n} {what}" for what, n in outcomes.most_common())
          + f"\nleft at the end: {final.counts()}"
          + f"\nwall time {wall:.1f} s ({wall / RUNS:.2f} s a run; a whole install {length:.2f} s)")
    assert not problems and not final, "\n".join(problems) + f"\nat the end: {final}"
