"""The Textual UI stopped mid-install, for real: in tmux, installing the sample profile into a disk image.

The install runs in a worker thread, and only the main thread receives signals: SIGTERM reaches the app,
which stops the install the way the command line's install is stopped (its command's process group first,
then the teardown). The program then ends with 143, having released the image, and Quit during an install
does the same with 130.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from sample.build_repo import build_repo
from tests.support.loop import ROOT_ONLY, sh
from tests.support.sample_profile import sample_profile
from tests.support.tmux import ROOT, Tmux

# heavy: three real installs into images (about 40 s), kept out of `make test-fast`'s three minutes.
HOLDING = "holding-the-install-for-the-test"
pytestmark = [ROOT_ONLY, pytest.mark.heavy,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]


def _start(work: Path) -> Tmux:
    repo = build_repo(work / "repo")
    # Welcome, then Review; a post script that holds the install (the sample's steps take a second in all), so
    # that the stop comes while it runs, whatever the machine's load.
    hold = {"post": [{"name": "hold", "chroot": False, "body": f"echo {HOLDING}; sleep 300"}]}
    profile = sample_profile(work, repo, {"interactive_sections": ["system"], "scripts": hold})
    session = Tmux(f"azl-stop-{uuid.uuid4().hex[:8]}")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "linux", "HOME": str(work),
           "PYTHONPATH": str(ROOT), "TMPDIR": str(work / "tmp")}
    (work / "tmp").mkdir()
    command = (f"{sys.executable} -m ui --profile {profile} --target-image {work / 'disk.img'} --image-size 3GiB "
               f"--log-dir {work / 'logs'}")
    subprocess.run(["tmux", "-L", session.name, "-f", "/dev/null", "new-session", "-d", "-s", "ui", "-x", "80",
                    "-y", "24", *[f"-e{k}={v}" for k, v in env.items()],
                    # The exit status written by the shell: tmux was seen to leave the program a zombie, never
                    # marking its pane dead, when it was the pane's own process.
                    f"cd {ROOT} && {command}; echo $? > {work / 'status'}"],
                   check=True, timeout=10, env={**env, "TMUX": ""})
    return session


def _install_until_held(session: Tmux, work: Path) -> int:
    """Welcome, Review, Erase and install; returns the program's PID once the post script holds the install."""
    session.wait_for("ctrl+n Next", timeout=30)
    session.keys("C-n")
    confirm = f"Erase {work / 'disk.img'} and install"
    session.wait_for(confirm, timeout=60)
    time.sleep(0.5)  # the plan is shown, the focus on Cancel
    session.keys("Tab")
    time.sleep(0.5)  # separate keys, not one paste
    session.keys("Enter")
    session.wait_for(HOLDING, timeout=120)
    shell = int(session.run("display-message", "-p", "-t", "ui", "#{pane_pid}").strip())
    return int(Path(f"/proc/{shell}/task/{shell}/children").read_text().split()[0])  # the installer


def _exit_status(work: Path, timeout: float = 120) -> int:
    status = work / "status"
    deadline = time.monotonic() + timeout
    while not (status.exists() and status.read_text().strip()):
        assert time.monotonic() < deadline, "the installer did not end"
        time.sleep(0.1)
    return int(status.read_text())


def _nothing_left(work: Path, pid: int, name: str) -> None:
    assert str(work / "disk.img") not in sh("losetup", "--list", "--noheadings", "--output", "BACK-FILE")
    target = f"/run/azl-installer/target-{pid}"
    assert target not in Path("/proc/mounts").read_text() and not Path(target).exists()
    assert list((work / "tmp").iterdir()) == []  # the install's temporary directory went with it
    log = next((work / "logs").glob("install-*.log")).read_text()
    said = [line for line in log.splitlines() if " debug: " not in line]
    assert any(f"stopped by {name}" in line for line in said), "\n".join(said)


def _ended(pid: int, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.parametrize("how", ["SIGTERM", "Quit", "terminal closed"])
def test_a_ui_install_stopped_by_a_signal_or_quit_is_taken_down_and_the_program_ends(work: Path, how: str) -> None:
    session = _start(work)
    try:
        pid = _install_until_held(session, work)
        if how == "terminal closed":  # a dropped SSH session: SIGHUP, and no terminal left to draw on
            session.run("kill-server")
            assert _ended(pid)
            _nothing_left(work, pid, "SIGHUP")
            return
        if how == "SIGTERM":
            os.kill(pid, signal.SIGTERM)
            expected, name = 143, "SIGTERM"
        else:
            session.keys("C-q")
            session.wait_for("Quitting stops it")
            time.sleep(0.5)  # the focus on Stay
            session.keys("Tab")
            time.sleep(0.5)
            session.keys("Enter")  # Quit
            expected, name = 130, "SIGINT"
        assert _exit_status(work) == expected, session.screen()
        _nothing_left(work, pid, name)
    finally:
        subprocess.run(["tmux", "-L", session.name, "kill-server"], check=False, capture_output=True, timeout=10)
