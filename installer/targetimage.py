"""Disk image files as install targets: a sparse file attached through a loop device."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from installer.core.events import EventBus
from installer.core.runner import Runner
from profiles.model import DiskMatch, Profile, Storage
from storage.inventory import DiskInfo, Inventory


def image_profile(profile: Profile, device: str) -> Profile:
    """The profile with its disk choice replaced by the image's device (one disk, nothing else)."""
    disks = (DiskMatch(path=device),)
    parts = tuple(replace(p, disk=0) for p in profile.storage.partitions)
    storage = Storage(disks=disks, leave_alone=(), auto=profile.storage.auto, partitions=parts)
    return replace(profile, storage=storage)


def planned_image_inventory(image: Path, size: int) -> Inventory:
    """What the image will look like once created, for planning without touching anything."""
    return Inventory((DiskInfo(path=str(image), size=size, model="disk image file"),))


@contextmanager
def attached_image(image: Path, size: int, runner: Runner, events: EventBus) -> Iterator[str]:
    """Create (or resize) a sparse image, attach it, and always detach it afterwards."""
    image.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(image, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)
    device = runner.run(["losetup", "--find", "--show", image]).output.strip()
    events.log(f"attached {image} as {device}")
    try:
        yield device
    finally:
        runner.run(["partx", "--delete", device], check=False)
        runner.run(["losetup", "--detach", device], check=False)
        events.log(f"detached {device}")
