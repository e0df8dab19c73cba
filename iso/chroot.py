"""Run commands on the host and inside a root directory, with mounts that cannot leak.

Chroot commands run in a private mount namespace (unshare --mount): /proc, /sys and /dev
are mounted inside it only, so they vanish with the process, also when it fails or is
killed. Nothing is ever left mounted on the host.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path


class BuildError(Exception):
    """A build step failed; the message says which and why."""


def run(argv: Sequence[str], *, quiet: bool = False) -> None:
    """Run a host command; its output goes to our stderr unless quiet (then only on failure)."""
    print(f"+ {shlex.join(argv)}", file=sys.stderr, flush=True)
    proc = subprocess.run(list(argv), stdout=subprocess.PIPE if quiet else sys.stderr,
                          stderr=subprocess.STDOUT, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout or "").strip().splitlines()[-20:])
        raise BuildError(f"command failed with exit code {proc.returncode}: {shlex.join(argv)}"
                         + (f"\n{tail}" if tail else ""))


def chroot_argv(root: Path, argv: Sequence[str]) -> list[str]:
    """argv run chrooted in root, with proc/sys/dev mounted in a throw-away mount namespace."""
    mounts = (
        f"mount -t proc proc {shlex.quote(str(root / 'proc'))} && "
        f"mount -t sysfs sysfs {shlex.quote(str(root / 'sys'))} && "
        f"mount --rbind /dev {shlex.quote(str(root / 'dev'))} && "
    )
    inner = f'{mounts}exec chroot {shlex.quote(str(root))} "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", inner, "chroot-run", *argv]


def run_chroot(root: Path, argv: Sequence[str], *, quiet: bool = False) -> None:
    run(chroot_argv(root, argv), quiet=quiet)


def chroot_output(root: Path, argv: Sequence[str]) -> str:
    """stdout of argv run chrooted in root; a failure raises BuildError with its stderr."""
    proc = subprocess.run(chroot_argv(root, argv), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(f"command failed with exit code {proc.returncode}: {shlex.join(argv)} in {root}\n"
                         + proc.stderr.strip())
    return proc.stdout


class Timer:
    """Wall-clock seconds of the build's stages, for the summary a build prints."""

    def __init__(self) -> None:
        self.stages: list[tuple[str, float]] = []
        self._start = time.monotonic()

    def lap(self, name: str) -> float:
        now = time.monotonic()
        seconds = now - self._start
        self.stages.append((name, seconds))
        self._start = now
        print(f"iso: {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
        return seconds
