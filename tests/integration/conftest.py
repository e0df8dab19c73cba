"""Fixtures for root-only tests on loop devices; every device and mount is released afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from sample.build_repo import build_repo
from tests.support.loop import attach_loop


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
        return attach_loop(cleanup, tmp_path / f"{name}.img", size)

    return attach
