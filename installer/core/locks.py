"""One install per target: locks held from the confirmed plan to the end of the teardown.

Two locks per target, because one cannot do both jobs:
- a private lock file under /run/azl-installer/locks, taken exclusively (flock LOCK_EX|LOCK_NB) for the
  whole install: a second install of the same disk or image is refused at once, atomically. The holder
  removes the file as it lets go (a killed holder's file stays until the next install of that target takes
  and removes it), so a run that opened the file just before it went checks that the file it locked is
  still the one under that name;
- on a block device, the BSD lock convention systemd and udev use: the installer checks that nobody
  holds the device (LOCK_EX|LOCK_NB, retried briefly, since udev takes a shared lock for a moment
  whenever it probes), then keeps a shared lock. Tools that write partition tables (systemd-repart,
  another installer) see the disk in use, while udev, which only needs a shared lock, goes on
  creating the nodes and links the install waits for.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import stat
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

LOCK_DIR = Path("/run/azl-installer/locks")
BUSY_TRIES, BUSY_PAUSE = 20, 0.05  # up to a second for udev's momentary shared lock to go


class TargetLocked(Exception):
    """A target is being installed by another run, or another tool holds it; nothing was written."""


def lock_name(path: str | Path) -> str:
    """The private lock's file name: a block device by its device number (any of its names), a file by its
    absolute path (it may not exist yet)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISBLK(info.st_mode):
        return f"dev-{os.major(info.st_rdev)}-{os.minor(info.st_rdev)}.lock"
    return "file-" + hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:24] + ".lock"


def _try(fd: int, operation: int, tries: int = 1) -> bool:
    for attempt in range(tries):
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if attempt + 1 < tries:
                time.sleep(BUSY_PAUSE)
    return False


def _take(lock: Path) -> int | None:
    """The lock file, open and locked exclusively; None when another run holds it."""
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        if not _try(fd, fcntl.LOCK_EX):
            os.close(fd)
            return None
        try:
            current = os.stat(lock)
        except FileNotFoundError:
            current = None
        mine = os.fstat(fd)
        if current is not None and (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
            return fd
        os.close(fd)  # its holder removed it as it let go: the lock is whatever file now has that name


def _let_go(fd: int, lock: Path) -> None:
    """Remove the lock file while still holding it, then release it."""
    try:
        lock.unlink(missing_ok=True)
    finally:
        os.close(fd)


@contextmanager
def locked_targets(paths: Sequence[str | Path], lock_dir: Path = LOCK_DIR) -> Iterator[None]:
    """Hold both locks of every target while the block runs; raises TargetLocked (one line) when one is taken."""
    lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with ExitStack() as held:
        for path in paths:
            lock = lock_dir / lock_name(path)
            private = _take(lock)
            if private is None:
                raise TargetLocked(f"{path} is being installed by another azl-installer run: wait for it to end "
                                   "(or stop it); nothing was written")
            held.callback(_let_go, private, lock)
            if not os.path.exists(path) or not stat.S_ISBLK(os.stat(path).st_mode):
                continue
            device = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            held.callback(os.close, device)
            if not _try(device, fcntl.LOCK_EX, BUSY_TRIES):
                raise TargetLocked(f"{path} is locked by another program (a partitioning tool holds its BSD lock): "
                                   "wait for it to end; nothing was written")
            fcntl.flock(device, fcntl.LOCK_SH)  # keep it marked in use, without stopping udev
        yield
