"""An install stopped by a signal, as a user stops one (kill, a dropped SSH session, Ctrl+C), then run again.

Stopped while dnf installs: exit 128+N, one line naming the step, and nothing of the install left (its
loop device, mounts, target directory, temporary files); the same install on the same image then succeeds.
Heavy (`make test` only): stopped in every step in turn, by SIGTERM and by SIGKILL, each time followed by the
same install on the same image, which succeeds with no manual clean-up.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.loop import ROOT_ONLY, sh
from tests.support.sample_profile import sample_profile
from tests.support.stopping import (
    TEARDOWN,
    install_argv,
    installer_env,
    last_step,
    leftovers,
    mapper_nodes,
    plan_step_ids,
    read_events,
    release_leftovers,
    step_seconds,
    wait_for,
    wait_until_gone,
)


@pytest.fixture(autouse=True)
def _taken_down(tmp_path: Path) -> Iterator[None]:
    """What this test's installs left (a killed one; a test that failed half-way) is taken down afterwards."""
    yield
    release_leftovers(tmp_path)


def _started(events: Path, step: str) -> bool:
    return any(e.get("kind") == "step-started" and e.get("step") == step for e in read_events(events))


def _dnf_started(events: Path) -> bool:
    """The payload step has started dnf (the runner logs each command as it starts it)."""
    return any(str(e.get("message")).startswith("$ dnf") and "--installroot" in str(e.get("message"))
               for e in read_events(events))


@ROOT_ONLY
@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP])
def test_a_stopped_install_leaves_nothing_and_runs_again(tmp_path: Path, sample_repo: Path, number: int) -> None:
    image, events, scratch = tmp_path / "disk.img", tmp_path / "events.jsonl", tmp_path / "tmp"
    scratch.mkdir()
    profile = sample_profile(tmp_path, sample_repo)
    argv = install_argv(profile, image, tmp_path / "logs")
    env = installer_env(scratch)  # its temporary files, counted afterwards
    proc = subprocess.Popen([*argv, "--events", str(events)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True, env=env)
    try:
        deadline = time.monotonic() + 300
        while not _dnf_started(events):
            assert proc.poll() is None and time.monotonic() < deadline, "dnf never started"
            time.sleep(0.02)
        time.sleep(0.2)  # dnf is running now (it takes longer than that to start up alone)
        proc.send_signal(number)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + number, stderr
    name = signal.Signals(number).name
    assert f"install stopped by {name} in step 'payload'" in stderr, stderr
    assert "Traceback" not in stderr
    last = json.loads(events.read_text().splitlines()[-1])
    kinds = [json.loads(line)["kind"] for line in events.read_text().splitlines()]
    assert kinds.count("step-failed") == 1 and last["kind"] in ("log", "step-failed"), last
    # Nothing of it is left: no loop device on the image, no mount or directory of its target, no temp files,
    # no lock file, no command it started (dnf and rpm name the target root in their arguments).
    found = leftovers(tmp_path, [image], [proc.pid], scratch, mapper_nodes())
    assert not found, found

    again = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)
    assert again.returncode == 0, again.stderr[-3000:]


@ROOT_ONLY
def test_a_second_install_of_the_same_image_is_refused_while_the_first_runs(tmp_path: Path,
                                                                             sample_repo: Path) -> None:
    image, events, logs = tmp_path / "disk.img", tmp_path / "events.jsonl", tmp_path / "logs"
    profile = sample_profile(tmp_path, sample_repo)
    argv = install_argv(profile, image, logs)
    first = subprocess.Popen([*argv, "--events", str(events)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             text=True)
    try:
        deadline = time.monotonic() + 300
        while not _started(events, "storage"):
            assert first.poll() is None and time.monotonic() < deadline, "the storage step never started"
            time.sleep(0.05)
        second = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        _, stderr = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
    assert second.returncode == 2, second.stderr
    assert f"{image} is being installed by another azl-installer run" in second.stderr
    assert second.stderr.count("\n") == 1, second.stderr
    assert first.returncode == 0, stderr[-3000:]
    # Each run has its own log, even when both start within one second.
    assert len(list(logs.glob("install-*.log"))) == 2


@ROOT_ONLY
def test_after_a_sigkill_in_dnf_the_same_install_runs_again_with_no_manual_clean_up(tmp_path: Path,
                                                                                    sample_repo: Path) -> None:
    """SIGKILL cannot be caught: the killed run leaves its loop device, partition nodes and mounts. The next run
    on the same image finds them (its lock is free) and releases them before it attaches the image again.
    (Every other step: test_stopped_in_every_step_in_turn_then_run_again, heavy.)"""
    image, events = tmp_path / "disk.img", tmp_path / "events.jsonl"
    profile = sample_profile(tmp_path, sample_repo)
    argv = install_argv(profile, image, tmp_path / "logs")
    killed = subprocess.Popen([*argv, "--events", str(events)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = f"/run/azl-installer/target-{killed.pid}"
    try:
        deadline = time.monotonic() + 300
        while not _dnf_started(events):
            assert killed.poll() is None and time.monotonic() < deadline, "dnf never started"
            time.sleep(0.02)
        time.sleep(0.2)
        killed.kill()
        killed.wait(timeout=60)
    finally:
        if killed.poll() is None:
            killed.kill()
    wait_until_gone([target])  # its dnf ends by itself (a parent-death signal), in its own time
    again = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert str(image) not in sh("losetup", "--list", "--noheadings", "--output", "BACK-FILE")
    assert target not in Path("/proc/mounts").read_text() and not Path(target).exists()


@ROOT_ONLY
def test_stopped_while_losetup_attaches_the_image_leaves_nothing(tmp_path: Path, sample_repo: Path) -> None:
    """losetup has attached the image but not yet said as what when SIGTERM comes (a losetup that pauses there,
    first on PATH): the installer finds the device by the image and detaches it, and removes the image file
    it had just created."""
    image, scratch, marker, shims = tmp_path / "disk.img", tmp_path / "tmp", tmp_path / "attached", tmp_path / "bin"
    scratch.mkdir()
    shims.mkdir()
    losetup = shutil.which("losetup")
    assert losetup is not None
    (shims / "losetup").write_text(f"#!/bin/sh\n{losetup} \"$@\"; code=$?\n"
                                   f'case " $* " in *" --find "*) touch {marker}; sleep 60;; esac\nexit $code\n')
    (shims / "losetup").chmod(0o755)
    env = installer_env(scratch)
    env["PATH"] = f"{shims}:{env.get('PATH', os.defpath)}"  # the runner passes PATH on to the commands
    proc = subprocess.Popen(install_argv(sample_profile(tmp_path, sample_repo), image, tmp_path / "logs"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        wait_for(marker, proc, "losetup never attached the image")
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, stderr[-3000:]
    assert "stopped by SIGTERM before the install started; no disk was written" in stderr, stderr[-3000:]
    assert "Traceback" not in stderr, stderr
    found = leftovers(tmp_path, [image], [proc.pid], scratch, mapper_nodes())
    assert not found, found
    assert not image.exists()


@ROOT_ONLY
@pytest.mark.heavy
@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_stopped_in_every_step_in_turn_then_run_again(tmp_path: Path, sample_repo: Path, number: int) -> None:
    """Issue 14, item 6: each step the sample install runs (as `plan --json` lists them) is held at its start
    (tests/support/stopping.py) and the install stopped there: SIGTERM while it is held, so the line names
    that step; SIGKILL a random moment (seeded) into the step's real work, up to its length in the first full
    install. Then the same install on the same image, which must succeed.

    SIGTERM: exit 143, one line naming the step, nothing left before the next run. SIGKILL: what the killed
    run left (loop device, mounts, target directory, lock file) is gone after the next run, except the killed
    run's scratch directory (test_a_killed_installs_scratch_directory_goes_with_the_next_install)."""
    image, scratch, marker = tmp_path / "disk.img", tmp_path / "tmp", tmp_path / "held"
    scratch.mkdir()
    profile = sample_profile(tmp_path, sample_repo)
    env, mapper = installer_env(scratch), mapper_nodes()
    name = signal.Signals(number).name
    rng = random.Random(14)  # the moments SIGKILL comes, the same each run
    steps = plan_step_ids(profile, image)
    assert steps[0] == "storage" and steps[-1] == "finish", steps

    pids: list[int] = []

    def install(events: Path) -> None:
        run = subprocess.Popen(install_argv(profile, image, tmp_path / "logs", events), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=env)
        pids.append(run.pid)
        _, stderr = run.communicate(timeout=600)
        assert run.returncode == 0, stderr[-3000:]
        assert [e["step"] for e in read_events(events) if e["kind"] == "step-started"] == steps

    started = time.monotonic()
    install(tmp_path / "first.jsonl")
    took = step_seconds(read_events(tmp_path / "first.jsonl"))
    report: list[str] = []
    for step in steps:
        events = tmp_path / f"stopped-in-{step}.jsonl"
        proc = subprocess.Popen(install_argv(profile, image, tmp_path / "logs", events, hold=(step, marker)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        pids.append(proc.pid)
        try:
            wait_for(marker, proc, f"the install never reached the step '{step}'")
            if number == signal.SIGKILL:
                marker.unlink()  # the step goes on, for a moment
                time.sleep(rng.uniform(0, took.get(step, 0.0)))
            proc.send_signal(number)
            _, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
            marker.unlink(missing_ok=True)
        if number == signal.SIGTERM:
            assert proc.returncode == 143, stderr[-3000:]
            assert stderr.count(f"install stopped by SIGTERM in step '{step}'") == 1, stderr[-3000:]
            assert "Traceback" not in stderr, stderr
            assert [e["step"] for e in read_events(events) if e["kind"] == "step-failed"] == [step]
            found = leftovers(tmp_path, [image], pids, scratch, mapper)
            assert not found, f"stopped in {step}: {found}"
        else:  # 0: the step and the rest of the install took less than the moment drawn
            assert proc.returncode in (-signal.SIGKILL, 0), stderr[-3000:]
            gone = wait_until_gone([f"/run/azl-installer/target-{proc.pid}", str(tmp_path)])
            left = {kind: n for kind, n in leftovers(tmp_path, [image], pids, scratch, mapper).counts().items() if n}
            where = last_step(read_events(events)) if proc.returncode else "never: it had ended"
            report.append(f"{step}: killed {where}, left {left or 'nothing'}, its commands gone after {gone:.2f} s")
        install(tmp_path / f"after-{step}.jsonl")
        found = leftovers(tmp_path, [image], pids, scratch, mapper)
        assert not found, f"after the install stopped in {step} and the one after it: {found}"
    print(f"\n{name} in each of {len(steps)} steps, each followed by a full install: "
          f"{time.monotonic() - started:.1f} s\n" + "\n".join(report))


@ROOT_ONLY
@pytest.mark.heavy
def test_a_killed_installs_scratch_directory_goes_with_the_next_install(tmp_path: Path, sample_repo: Path) -> None:
    image, scratch, marker = tmp_path / "disk.img", tmp_path / "tmp", tmp_path / "held"
    scratch.mkdir()
    profile = sample_profile(tmp_path, sample_repo)
    env = installer_env(scratch)
    killed = subprocess.Popen(install_argv(profile, image, tmp_path / "logs", hold=("payload", marker)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        wait_for(marker, killed, "the install never reached the payload step")
        assert [p.name for p in scratch.iterdir()], "the scratch directory is made before the engine runs"
        killed.kill()
        killed.wait(timeout=60)
    finally:
        if killed.poll() is None:
            killed.kill()
    wait_until_gone([f"/run/azl-installer/target-{killed.pid}"])
    again = subprocess.run(install_argv(profile, image, tmp_path / "logs"), capture_output=True, text=True,
                           timeout=600, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert [p.name for p in scratch.iterdir()] == []


@ROOT_ONLY
@pytest.mark.heavy
def test_a_signal_during_the_teardown_after_the_install_leaves_nothing(tmp_path: Path, sample_repo: Path) -> None:
    """The install has ended and its session is removing its scratch directory when SIGTERM comes: the install
    stands (exit 0) and the teardown completes (the signal changes nothing there)."""
    image, scratch, marker = tmp_path / "disk.img", tmp_path / "tmp", tmp_path / "held"
    scratch.mkdir()
    proc = subprocess.Popen(install_argv(sample_profile(tmp_path, sample_repo), image, tmp_path / "logs",
                                         hold=(TEARDOWN, marker)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=installer_env(scratch))
    try:
        wait_for(marker, proc, "the install never reached its teardown")
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # for the signal to do whatever it does
        marker.unlink()  # then the teardown goes on, if the signal let it
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr, stderr
    found = leftovers(tmp_path, [image], [proc.pid], scratch, mapper_nodes())
    assert not found, found
