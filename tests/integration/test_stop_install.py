"""An install stopped by a signal, as a user stops one (kill, a dropped SSH session, Ctrl+C), then run again.

Stopped while dnf installs: exit 128+N, one line naming the step, and nothing of the install left (its
loop device, mounts, target directory, temporary files); the same install on the same image then succeeds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.loop import ROOT_ONLY, sh
from tests.support.sample_profile import sample_profile


def _started(events: Path, step: str) -> bool:
    if not events.exists():
        return False
    return any(json.loads(line).get("kind") == "step-started" and json.loads(line).get("step") == step
               for line in events.read_text().splitlines() if line.strip())


@ROOT_ONLY
@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP])
def test_a_stopped_install_leaves_nothing_and_runs_again(tmp_path: Path, sample_repo: Path, number: int) -> None:
    image, events, scratch = tmp_path / "disk.img", tmp_path / "events.jsonl", tmp_path / "tmp"
    scratch.mkdir()
    profile = sample_profile(tmp_path, sample_repo)
    argv = [sys.executable, "-m", "installer", "install", "--profile", str(profile), "--target-image", str(image),
            "--image-size", "3GiB", "--yes", "--log-dir", str(tmp_path / "logs"), "--events", str(events)]
    env = {**os.environ, "TMPDIR": str(scratch)}  # its temporary files, counted afterwards
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    try:
        deadline = time.monotonic() + 300
        while not _started(events, "payload"):
            assert proc.poll() is None and time.monotonic() < deadline, "the payload step never started"
            time.sleep(0.1)
        time.sleep(1.0)  # dnf is running now
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
    # Nothing of it is left: no loop device on the image, no mount or directory of its target, no temp files.
    assert str(image) not in sh("losetup", "--list", "--noheadings", "--output", "BACK-FILE")
    target = f"/run/azl-installer/target-{proc.pid}"
    assert target not in Path("/proc/mounts").read_text() and not Path(target).exists()
    assert list(scratch.iterdir()) == []
    # No command it started lives on (dnf and rpm name the target root in their arguments).
    assert not [p for p in Path("/proc").glob("[0-9]*") if target in _cmdline(p)]

    again = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)
    assert again.returncode == 0, again.stderr[-3000:]


def _cmdline(proc_dir: Path) -> str:
    try:
        return (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@ROOT_ONLY
def test_a_second_install_of_the_same_image_is_refused_while_the_first_runs(tmp_path: Path,
                                                                             sample_repo: Path) -> None:
    image, events, logs = tmp_path / "disk.img", tmp_path / "events.jsonl", tmp_path / "logs"
    profile = sample_profile(tmp_path, sample_repo)
    argv = [sys.executable, "-m", "installer", "install", "--profile", str(profile), "--target-image", str(image),
            "--image-size", "3GiB", "--yes", "--log-dir", str(logs)]
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
@pytest.mark.parametrize("step", ["storage", "payload", "system"])
def test_after_a_sigkill_the_same_install_runs_again_with_no_manual_clean_up(tmp_path: Path, sample_repo: Path,
                                                                             step: str) -> None:
    """SIGKILL cannot be caught: the killed run leaves its loop device, partition nodes and mounts. The next run
    on the same image finds them (its lock is free) and releases them before it attaches the image again."""
    image, events = tmp_path / "disk.img", tmp_path / "events.jsonl"
    profile = sample_profile(tmp_path, sample_repo)
    argv = [sys.executable, "-m", "installer", "install", "--profile", str(profile), "--target-image", str(image),
            "--image-size", "3GiB", "--yes", "--log-dir", str(tmp_path / "logs")]
    killed = subprocess.Popen([*argv, "--events", str(events)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not _started(events, step):
            assert killed.poll() is None and time.monotonic() < deadline, f"the {step} step never started"
            time.sleep(0.05)
        killed.kill()
        killed.wait(timeout=60)
    finally:
        if killed.poll() is None:
            killed.kill()
    time.sleep(1)  # its dnf (a group of its own) may still be ending
    again = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert str(image) not in sh("losetup", "--list", "--noheadings", "--output", "BACK-FILE")
    target = f"/run/azl-installer/target-{killed.pid}"
    assert target not in Path("/proc/mounts").read_text() and not Path(target).exists()
