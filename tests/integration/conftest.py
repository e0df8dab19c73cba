"""Fixtures for root-only tests on loop devices; every device and mount is released afterwards."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from sample.build_repo import build_repo

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and loop devices")


def sh(*argv: str | os.PathLike[str], check: bool = True) -> str:
    return subprocess.run([os.fspath(a) for a in argv], check=check, capture_output=True, text=True).stdout


@pytest.fixture(scope="session")
def sample_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_repo(tmp_path_factory.mktemp("repo") / "sample-repo")


@pytest.fixture
def cleanup() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


@pytest.fixture
def loop_disk(cleanup: ExitStack, tmp_path: Path) -> Callable[[str, int], str]:
    """Attach a fresh sparse image as a loop device; detached at the end, also on failure."""

    def attach(name: str, size: int) -> str:
        image = tmp_path / f"{name}.img"
        with image.open("wb") as handle:
            handle.truncate(size)
        device = sh("losetup", "--find", "--show", image).strip()
        cleanup.callback(sh, "losetup", "--detach", device, check=False)
        cleanup.callback(sh, "partx", "--delete", device, check=False)
        return device

    return attach


def mount_ro(cleanup: ExitStack, device: str, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    sh("mount", "-o", "ro", device, where)
    cleanup.callback(sh, "umount", where, check=False)
    return where
