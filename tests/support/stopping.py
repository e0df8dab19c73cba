"""Installs on image files stopped from outside (a signal, SIGKILL), and a count of what they left on the host.

Two tools for tests/integration/test_stop_install.py and test_soak.py:

- The installer's own CLI, run with one point of the install held (`python -m tests.support.stopping POINT
  MARKER install ...`): a step at its start (POINT is its id), or the session's teardown after the engine
  (POINT "teardown": as it removes its emptied scratch directory). Most steps of the sample install take a
  millisecond, too short to hit by watching the events from outside, so at the held point the install
  creates MARKER (a step's step-started event is out by then) and waits until the test removes MARKER or
  stops the process. Nothing else differs from `python -m installer`: the signal handling, the runner and
  the teardown are the real ones.
- Leftovers: every trace an install can leave on the host, counted for one test's images and processes
  (loop devices, mounts, device-mapper nodes, temporary files, target directories, lock files and their
  holders, processes). Counting never releases anything: what a test finds is what the installer left.
  release_leftovers() takes it down after the test, passed or failed (the host is shared).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from installer.core.locks import LOCK_DIR, lock_name
from installer.engine import Engine
from installer.plan import PlanStep

RUNTIME = Path("/run/azl-installer")
REPO = Path(__file__).parents[2]
HOLD_LIMIT = 60.0  # seconds a held point waits for its test at most (a test that died must not leave it waiting)
TEARDOWN = "teardown"  # the hold point after the engine: the session removing its scratch directory


def install_argv(profile: Path, image: Path, log_dir: Path, events: Path | None = None, *, size: str = "3GiB",
                 hold: tuple[str, Path] | None = None) -> list[str]:
    """The unattended install of profile into image; hold=(point, marker) holds it there (a step's id: at the
    step's start; TEARDOWN: in the session's teardown)."""
    launcher = ["-m", "installer"] if hold is None else ["-m", "tests.support.stopping", hold[0], str(hold[1])]
    argv = [sys.executable, *launcher, "install", "--profile", str(profile), "--target-image", str(image),
            "--image-size", size, "--yes", "--log-dir", str(log_dir)]
    return argv + (["--events", str(events)] if events is not None else [])


def installer_env(tmpdir: Path) -> dict[str, str]:
    """The environment an install runs in: its temporary files in tmpdir (counted afterwards), this checkout
    importable (the held launcher lives in tests/)."""
    return {**os.environ, "TMPDIR": str(tmpdir), "PYTHONPATH": str(REPO)}


def wait_for(path: Path, proc: subprocess.Popen[str], what: str, timeout: float = 120) -> None:
    """Until path exists; fails naming what never happened when the install ended or time ran out first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"{what}: the install ended first (exit code {proc.returncode})\n"
                                 f"{(err or '')[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(0.002)


def plan_step_ids(profile: Path, image: Path, size: str = "3GiB") -> list[str]:
    """The ids of the steps an install of profile into image runs, in order, as `plan --json` lists them."""
    shown = subprocess.run([sys.executable, "-m", "installer", "plan", "--profile", str(profile), "--target-image",
                            str(image), "--image-size", size, "--json"], check=True, capture_output=True, text=True,
                           cwd=REPO)
    return [step["id"] for step in json.loads(shown.stdout)["steps"]]


def read_events(path: Path) -> list[dict[str, object]]:
    """An install's --events file so far (a line it is still writing is left for the next read)."""
    if not path.exists():
        return []
    text = path.read_text()
    complete = text if text.endswith("\n") else text.rpartition("\n")[0]
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


def step_seconds(events: list[dict[str, object]]) -> dict[str, float]:
    """How long each step took, from its step-started to its step-finished event."""
    started: dict[str, float] = {}
    took: dict[str, float] = {}
    for event in events:
        step, when = str(event.get("step")), float(str(event["time"]))
        if event["kind"] == "step-started":
            started[step] = when
        elif event["kind"] == "step-finished" and step in started:
            took[step] = when - started[step]
    return took


def last_step(events: list[dict[str, object]]) -> str:
    """Where an install's events end: "in STEP" (started, not finished), "after STEP", or "before any step"."""
    marks = [(str(e["kind"]), str(e.get("step"))) for e in events if str(e["kind"]).startswith("step-")]
    if not marks:
        return "before any step"
    kind, step = marks[-1]
    return f"in {step}" if kind == "step-started" else f"after {step}"


def _cmdline(pid_dir: Path) -> str:
    try:
        return (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def processes_naming(text: str) -> list[int]:
    """Processes whose command line contains text (the test's private directory): counted, never signalled."""
    me = os.getpid()
    return [int(p.name) for p in Path("/proc").glob("[0-9]*") if int(p.name) != me and text in _cmdline(p)]


def wait_until_gone(texts: Sequence[str], timeout: float = 30) -> float:
    """Seconds until no process names any of texts (what a killed install started ends by itself: the runner
    gives each command a parent-death signal); fails naming them if they outlive timeout."""
    start = time.monotonic()
    while found := [pid for text in texts for pid in processes_naming(text)]:
        if time.monotonic() - start > timeout:
            raise AssertionError(f"still running {timeout:g} s after the install was killed: "
                                 + "; ".join(_cmdline(Path(f"/proc/{pid}")) for pid in found))
        time.sleep(0.02)
    return time.monotonic() - start


def _lock_holders(lock: Path) -> int:
    """Locks /proc/locks lists on this lock file's inode (its holders, or processes waiting for it)."""
    try:
        info = lock.stat()
    except FileNotFoundError:
        return 0
    key = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    return sum(1 for line in Path("/proc/locks").read_text().splitlines() if key in line.split())


@dataclass(frozen=True)
class Leftovers:
    """What a set of installs left on the host, each kind a list of what was found (empty: nothing)."""

    loop_devices: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)
    mapper_nodes: list[str] = field(default_factory=list)
    temp_entries: list[str] = field(default_factory=list)
    target_dirs: list[str] = field(default_factory=list)
    lock_files: list[str] = field(default_factory=list)
    lock_holders: list[str] = field(default_factory=list)
    processes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(found) for name, found in vars(self).items()}

    def __bool__(self) -> bool:
        return any(vars(self).values())


def mapper_nodes() -> set[str]:
    mapper = Path("/dev/mapper")
    return {p.name for p in mapper.iterdir()} if mapper.is_dir() else set()


def leftovers(private: Path, images: Sequence[Path], pids: Sequence[int], tmpdir: Path,
              mapper_before: set[str]) -> Leftovers:
    """Count what installs of images (run as pids, with TMPDIR=tmpdir, everything of theirs under private)
    left: loop devices backed by a file under private, mounts under their target directories or private,
    /dev/mapper nodes that were not there before, entries in tmpdir, their target directories, the images'
    lock files and whoever holds them, and live processes naming private or a target directory (dnf, rpm and
    chroot name the target root in their arguments)."""
    loops = subprocess.run(["losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE"], check=True,
                           capture_output=True, text=True).stdout.splitlines()
    targets = [RUNTIME / f"target-{pid}" for pid in pids]
    mount_points = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    locks = [LOCK_DIR / lock_name(image) for image in images]
    running = sorted({pid for text in [str(private), *map(str, targets)] for pid in processes_naming(text)})
    return Leftovers(
        loop_devices=[line.strip() for line in loops if str(private) in line],
        mounts=[m for m in mount_points
                if m.startswith(str(private)) or any(m == str(t) or m.startswith(f"{t}/") for t in targets)],
        mapper_nodes=sorted(mapper_nodes() - mapper_before),
        temp_entries=sorted(p.name for p in tmpdir.iterdir()),
        target_dirs=[str(t) for t in targets if t.exists()],
        lock_files=[str(lock) for lock in locks if lock.exists()],
        lock_holders=[str(lock) for lock in locks if _lock_holders(lock)],
        processes=[f"{pid}: {_cmdline(Path(f'/proc/{pid}'))}" for pid in running],
    )


def release_leftovers(private: Path) -> list[str]:
    """After a test: what installs of image files under private left (a SIGKILLed run, a test that failed
    half-way), taken down: the mounts from the images' partitions with everything mounted below them, the
    partition nodes, the loop devices, the empty target directories of the installs that logged under private
    (ended ones), the images' lock files that nobody holds. Returns what it did."""
    done: list[str] = []
    listed = subprocess.run(["losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE"], check=True,
                            capture_output=True, text=True).stdout.splitlines()
    devices = [line.split()[0] for line in listed if str(private) in line]
    mounts = [line.split()[:2] for line in Path("/proc/mounts").read_text().splitlines()]
    roots = {point for source, point in mounts if any(source.startswith(f"{d}p") or source == d for d in devices)}
    for root in sorted(roots, key=lambda r: r.count("/")):  # the target root first, with all below it
        if subprocess.run(["umount", "--recursive", root], capture_output=True).returncode == 0:
            done.append(f"umount {root}")
    for device in devices:
        subprocess.run(["partx", "--delete", device], capture_output=True)
        subprocess.run(["losetup", "--detach", device], capture_output=True)
        done.append(f"losetup --detach {device}")
    # Each install's log is named after its process (install-STAMP-PID.log): their target directories.
    pids = {log.stem.rsplit("-", 1)[-1] for log in private.rglob("install-*.log")}
    for target in (RUNTIME / f"target-{pid}" for pid in pids if not Path(f"/proc/{pid}").exists()):
        if target.is_dir() and not os.path.ismount(target):
            try:
                target.rmdir()
                done.append(f"rmdir {target}")
            except OSError:
                pass
    for image in private.rglob("*.img"):
        lock = LOCK_DIR / lock_name(image)
        if lock.exists() and not _lock_holders(lock):
            lock.unlink(missing_ok=True)
            done.append(f"rm {lock}")
    return done


def _wait(marker: Path) -> None:
    marker.touch()
    deadline = time.monotonic() + HOLD_LIMIT
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(0.001)


@contextmanager
def _held(point: str, marker: Path) -> Iterator[None]:
    step, rmdir = Engine.step, os.rmdir

    @contextmanager
    def held_step(self: Engine, planned: PlanStep) -> Iterator[None]:
        with step(self, planned):  # step-started is out; a signal from here on stops this step
            if planned.id == point:
                _wait(marker)
            yield

    def held_rmdir(path: str | bytes | os.PathLike[str] | os.PathLike[bytes], *, dir_fd: int | None = None) -> None:
        # The session's scratch directory, emptied by its TemporaryDirectory: the last call of its removal.
        where = Path(os.fsdecode(path))
        if point == TEARDOWN and where.name.startswith("azl-installer-") and str(where.parent) == tempfile.gettempdir():
            _wait(marker)
        rmdir(path, dir_fd=dir_fd)

    Engine.step = held_step  # type: ignore[method-assign]
    os.rmdir = held_rmdir
    try:
        yield
    finally:
        Engine.step = step  # type: ignore[method-assign]
        os.rmdir = rmdir


def main(argv: Sequence[str]) -> int:
    """`python -m tests.support.stopping POINT MARKER ARGS...`: azl-installer ARGS, held at POINT."""
    from installer.cli import main as cli_main

    point, marker, *rest = argv
    with _held(point, Path(marker)):
        return cli_main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
