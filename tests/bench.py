"""`make bench`: numbers for plan time, install time, and the payload step against bare dnf.

Run as root (the install uses a loop device). Prints one line per measurement.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from installer.payload.bench import bare_dnf_seconds
from installer.plan import make_plan
from installer.targetimage import image_profile, planned_image_inventory
from profiles import load_profile

TOP = Path(__file__).parents[1]
SAMPLE = TOP / "profiles/examples/sample.yaml"
REPO = TOP / "build/sample-repo"


def bench_plan() -> float:
    profile = load_profile(SAMPLE)
    runs = []
    for _ in range(50):
        started = time.perf_counter()
        make_plan(image_profile(profile, "/tmp/x.img"), planned_image_inventory(Path("/tmp/x.img"), 4 * 1024**3))
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def bench_install(work: Path) -> tuple[float, float, list[str]]:
    events = work / "events.jsonl"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "installer", "install", "--profile", str(SAMPLE), "--target-image",
                    str(work / "disk.img"), "--image-size", "4GiB", "--yes", "--log-dir", str(work / "logs"),
                    "--events", str(events)], check=True, capture_output=True)
    total = time.perf_counter() - started
    stamps = {}
    packages = []
    for line in events.read_text().splitlines():
        event = json.loads(line)
        if event["step"] == "payload" and event["kind"] in ("step-started", "step-finished"):
            stamps[event["kind"]] = event["time"]
        if event["step"] == "payload" and event["kind"] == "step-progress" and \
                event["message"].startswith("installing "):
            packages.append(event["message"].split()[1])
    return total, stamps["step-finished"] - stamps["step-started"], packages


def main() -> int:
    if os.geteuid() != 0:
        print("bench: run as root (the install bench uses a loop device)", file=sys.stderr)
        return 2
    print(f"plan time (sample profile, median of 50): {bench_plan() * 1000:.2f} ms")
    with tempfile.TemporaryDirectory(prefix="azl-bench-") as tmp:
        total, payload, packages = bench_install(Path(tmp))
        print(f"install time (sample profile into a 4 GiB image, end to end): {total:.2f} s")
        print(f"payload step ({len(packages)} packages): {payload:.2f} s")
        bare = bare_dnf_seconds(REPO.as_uri(), sorted(set(packages)), Path(tmp) / "bare")
        print(f"bare dnf --installroot of the same packages: {bare:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
