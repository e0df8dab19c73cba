"""Unpack a root filesystem image (tar archive or squashfs) into the target root."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from installer.core.digest import file_sha256
from installer.core.events import EventBus
from installer.core.runner import CommandError, Runner
from installer.payload.dnfbase import PayloadError, ProgressFn
from profiles.model import RootImage

ImageFormat = Literal["tar", "squashfs"]

_SUFFIXES: tuple[tuple[str, ImageFormat], ...] = (
    (".tar", "tar"),
    (".tar.gz", "tar"),
    (".tgz", "tar"),
    (".tar.xz", "tar"),
    (".txz", "tar"),
    (".tar.zst", "tar"),
    (".tar.zstd", "tar"),
    (".tzst", "tar"),
    (".tar.bz2", "tar"),
    (".squashfs", "squashfs"),
    (".sqfs", "squashfs"),
    (".sfs", "squashfs"),
)


def guess_format(path: str) -> ImageFormat | None:
    name = Path(path).name.lower()
    for suffix, fmt in _SUFFIXES:
        if name.endswith(suffix):
            return fmt
    return None


def image_format(image: RootImage) -> ImageFormat:
    fmt = image.format or guess_format(image.path)
    if fmt is None:
        raise PayloadError(
            f"cannot tell the format of root image {image.path} from its name: "
            "set payload.image.format to tar or squashfs"
        )
    return fmt


def unpack_argv(image: RootImage, root: Path) -> list[str]:
    if image_format(image) == "squashfs":
        # -f: the root already exists (a mount point) and may hold the dnf-created tree.
        return ["unsquashfs", "-no-progress", "-f", "-d", str(root), image.path]
    # GNU tar picks the decompressor from the archive's magic bytes. Without --xattrs-include
    # it restores only user.* attributes and file capabilities (security.capability) are lost.
    return [
        "tar", "--xattrs", "--xattrs-include=*", "--acls", "--numeric-owner",
        "-xpf", image.path, "-C", str(root),
    ]  # fmt: skip


def unpack_image(
    image: RootImage,
    root: Path,
    runner: Runner,
    events: EventBus,
    progress: ProgressFn | None = None,
) -> None:
    report = progress or events.progress
    if not Path(image.path).is_file():
        raise PayloadError(f"root image not found: {image.path}")
    if image.sha256 is not None:
        report(0.0, f"checking the SHA-256 of {Path(image.path).name}")
        actual = file_sha256(Path(image.path))
        if actual != image.sha256.lower():
            raise PayloadError(f"root image {image.path} has SHA-256 {actual}, the profile expects {image.sha256}")
    argv = unpack_argv(image, root)
    report(0.0, f"unpacking root image {Path(image.path).name}")
    try:
        runner.run(argv, on_line=lambda line: events.log(line, level="debug"))
    except CommandError as error:
        raise PayloadError(f"unpacking root image {image.path} failed: {error}") from error
    report(1.0, f"unpacked root image {Path(image.path).name}")


