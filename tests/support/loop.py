"""Loop devices and mounts for root-only host tests, each released on a test's ExitStack (also on failure)."""

from __future__ import annotations

import os
import subprocess
from contextlib import ExitStack
from pathlib import Path

import pytest

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and loop devices")


def sh(*argv: str | os.PathLike[str], check: bool = True) -> str:
    return subprocess.run([os.fspath(a) for a in argv], check=check, capture_output=True, text=True).stdout


def attach_loop(cleanup: ExitStack, image: Path, size: int) -> str:
    """A fresh sparse image attached as a loop device; detached (and its partition nodes dropped) on cleanup."""
    with image.open("wb") as handle:
        handle.truncate(size)
    device = sh("losetup", "--find", "--show", image).strip()
    cleanup.callback(sh, "losetup", "--detach", device, check=False)
    cleanup.callback(sh, "partx", "--delete", device, check=False)
    return device


def mount_ro(cleanup: ExitStack, device: str, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    sh("mount", "-o", "ro", device, where)
    cleanup.callback(sh, "umount", where, check=False)
    return where
