"""Disk image files as install targets: a sparse file attached through a loop device."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from installer.core.events import EventBus
from installer.core.runner import Runner
from installer.core.signals import Interrupted
from profiles.model import DiskMatch, Profile, Storage
from profiles.sizes import format_size
from storage.inventory import DiskInfo, Inventory
from storage.release import ReleaseRefused, release_disks


def image_profile(profile: Profile, device: str) -> Profile:
    """The profile with its disk choice replaced by the image's device (one disk, nothing else)."""
    disks = (DiskMatch(path=device),)
    parts = tuple(replace(p, disk=0) for p in profile.storage.partitions)
    storage = Storage(disks=disks, leave_alone=(), auto=profile.storage.auto, partitions=parts)
    return replace(profile, storage=storage)


class ImageError(Exception):
    """The image file cannot be made or attached; one line, nothing left behind that this run created."""


def image_path_problem(image: Path) -> str | None:
    """Why this path cannot be an image file, or None: checked before anything is created."""
    if image.is_dir():
        return f"{image} is a directory: give the image file's path, e.g. {image / 'disk.img'}"
    if image.exists() and not image.is_file():
        return (f"{image} is not a regular file (a device node?): to install onto a disk, name it in the profile's "
                "storage.disks instead")
    if not image.parent.is_dir():
        return f"the directory {image.parent} does not exist"
    return None


def image_description(image: Path) -> str:
    """How the plan names the image: an existing file with data says so, since the install erases it."""
    try:
        info = image.stat()
    except FileNotFoundError:
        return "disk image file (new)"
    written = info.st_blocks * 512
    if written == 0:
        return "disk image file (exists, empty)"
    return f"disk image file (exists, {format_size(info.st_size)} with {format_size(written)} of data: ERASED)"


def planned_image_inventory(image: Path, size: int) -> Inventory:
    """What the image will look like once created, for planning without touching anything."""
    return Inventory((DiskInfo(path=str(image), size=size, model=image_description(image)),))


def release_stale_loops(image: Path, runner: Runner, events: EventBus) -> None:
    """Loop devices an earlier, killed install left on this image (the caller holds the image's lock, so no
    running install owns them): what is active on them is released as on a disk (its mounts under
    /run/azl-installer, mappings, arrays), their partition nodes dropped, and they are detached. Attaching
    the image a second time beside them would let two devices write one file."""
    for device in _attached_as(image, runner):
        try:
            done = release_disks(runner, [device])
        except ReleaseRefused as err:
            raise ImageError(f"{image} is still attached as {device} and in use: {err}") from None
        _detach(device, runner)
        events.log(f"released {device}, left attached to {image} by an earlier install"
                   + (f" ({'; '.join(done)})" if done else ""))


@contextmanager
def attached_image(image: Path, size: int, runner: Runner, events: EventBus) -> Iterator[str]:
    """Create (or resize) a sparse image, attach it, and always detach it afterwards. A file this call created
    is removed again when it cannot be sized or attached (ImageError: one line)."""
    problem = image_path_problem(image)
    if problem is not None:
        raise ImageError(problem)
    created = not image.exists()
    if not created:
        release_stale_loops(image, runner, events)
    try:
        fd = os.open(image, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.ftruncate(fd, size)
        finally:
            os.close(fd)
        attached = runner.run(["losetup", "--find", "--show", image], check=False)
        if attached.returncode != 0:
            raise ImageError(f"cannot attach {image} as a loop device: {attached.output.strip() or 'losetup failed'}")
        device = attached.output.strip()
        events.log(f"attached {image} as {device}")
    except OSError as err:
        if created:
            image.unlink(missing_ok=True)
        raise ImageError(f"cannot make the image {image} ({format_size(size)}): {err.strerror}") from None
    except ImageError:
        if created:
            image.unlink(missing_ok=True)
        raise
    except Interrupted:  # losetup, stopped, may have attached the image without saying as what
        for device in _attached_as(image, runner):
            _detach(device, runner)
        if created:
            image.unlink(missing_ok=True)
        raise
    try:
        yield device
    finally:
        try:
            _detach(device, runner)
        finally:
            events.log(f"detached {device}")


def _attached_as(image: Path, runner: Runner) -> list[str]:
    listed = runner.run(["losetup", "--noheadings", "--output", "NAME", "--associated", image], check=False)
    return [line.strip() for line in listed.output.splitlines() if line.strip().startswith("/dev/")]


def _detach(device: str, runner: Runner) -> None:
    """Drop the device's partition nodes and detach it. A stopping signal while either command runs raises
    Interrupted once (later ones are ignored while the install ends): both run again, so that the image is
    not left attached."""
    try:
        runner.run(["partx", "--delete", device], check=False)
        runner.run(["losetup", "--detach", device], check=False)
    except Interrupted:
        runner.run(["partx", "--delete", device], check=False)
        runner.run(["losetup", "--detach", device], check=False)
        raise
