"""Time from start to the first usable screen, and peak RSS of the UI process (TERM=linux, 80x24, tmux).

Run: .venv/bin/python -m tests.bench_ui   (targets: first screen < 0.5 s, peak RSS < 80 MB)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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


def main() -> None:
    runs = [measure() for _ in range(3)]
    first = min(r[0] for r in runs)
    peak = max(r[1] for r in runs)
    print(f"ui: first usable screen {first:.2f} s (best of 3; target < 0.5 s)")
    print(f"ui: peak RSS {peak:.1f} MB (target < 80 MB)")


if __name__ == "__main__":
    main()
