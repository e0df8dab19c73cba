"""`make bench`, part ui: time from start to the first usable screen, and peak RSS of the UI process
(TERM=linux, 80x24, tmux), and the password hash it computes on its event loop. Goals: first screen within
0.5 s, peak RSS under 80 MB, the hash within a second.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from installer.core.passwords import hash_password
from tests.support.benchkit import TOP as ROOT
from tests.support.benchkit import Inputs, Report


def tmux(server: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", server, *args], check=True, capture_output=True, text=True).stdout


def measure() -> tuple[float, float]:
    server = f"azl-bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        command = f"cd {ROOT} && TERM=linux exec {sys.executable} -m ui --target-image {tmp}/disk.img"
        start = time.monotonic()
        tmux(server, "-f", "/dev/null", "new-session", "-d", "-s", "ui", "-x", "80", "-y", "24", command)
        try:
            while "ctrl+n Next" not in tmux(server, "capture-pane", "-p", "-t", "ui"):
                if time.monotonic() - start > 20:
                    raise SystemExit("the first screen never appeared")
                time.sleep(0.01)
            first = time.monotonic() - start
            tmux(server, "send-keys", "-t", "ui", "C-n", "Space")  # the Disks screen, with a layout
            while "[E] " + tmp not in tmux(server, "capture-pane", "-p", "-t", "ui"):
                time.sleep(0.02)
            pid = tmux(server, "list-panes", "-t", "ui", "-F", "#{pane_pid}").strip()
            status = Path(f"/proc/{pid}/status").read_text()
            peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
        finally:
            subprocess.run(["tmux", "-L", server, "kill-server"], check=False, capture_output=True)
    return first, peak_kb / 1024


def hash_seconds(runs: int) -> float:
    """The password hash the UI computes on its event loop (yescrypt, default cost): median of runs."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        hash_password("secret123")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def part(report: Report, inputs: Inputs, work: Path) -> None:
    hashing = hash_seconds(inputs.ui_runs)
    report.target("ui-password-hash-seconds", hashing, 1.0)
    report.number(f"ui: a password hashed (yescrypt, default cost) in {hashing:.2f} s")
    runs = [measure() for _ in range(inputs.ui_runs)]
    first = min(r[0] for r in runs)
    peak = max(r[1] for r in runs)
    report.target("ui-first-screen-seconds", first, 0.5)
    report.target("ui-peak-rss-mb", peak, 80)
    report.number(f"ui: first usable screen {first:.2f} s (best of {inputs.ui_runs}), peak RSS {peak:.1f} MB")
