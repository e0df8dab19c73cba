"""Writing files into a target root without ever following a symbolic link out of it.

A payload is untrusted input: its /etc/hostname could be a link to /etc/hostname of the
machine running the installer, its /etc/cloud a link to /. Paths inside the target are
therefore resolved the way a chroot would resolve them (an absolute link target starts again
at the target root, `..` never climbs above it), and the file itself is never written through
a link: write_file refuses one, naming it. Every write goes to a temporary file first and is
renamed into place, so a failed write leaves no half file.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

_MAX_LINKS = 40  # as the kernel's own limit on symbolic links in one lookup


class UnsafePath(OSError):
    """A path in the target that the installer refuses to write (a link, or a loop of links)."""


def inside(root: Path, path: str) -> Path:
    """The host path of `path` (absolute, as seen inside the target) with every directory link resolved
    within root. The last component is not resolved: callers decide what a link there means."""
    parts = list(PurePosixPath("/", path).parts[1:])
    if not parts:
        return root
    name = parts.pop()
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, part)
        if candidate.is_symlink():
            links += 1
            if links > _MAX_LINKS:
                raise UnsafePath(f"too many symbolic links in {path} inside {root}")
            target = PurePosixPath(os.readlink(candidate))
            if target.is_absolute():
                resolved = []
            parts = [p for p in target.parts if p != "/"] + parts
            continue
        resolved.append(part)
    if name == "..":
        raise UnsafePath(f"{path}: not a file name")
    return root.joinpath(*resolved, name)


def write_file(root: Path, path: str, text: str | bytes, mode: int = 0o644) -> Path:
    """Write `path` (absolute inside the target) with `mode`, creating parent directories; refuses to
    replace a symbolic link. Returns the host path written."""
    target = inside(root, path)
    if target.is_symlink():
        raise UnsafePath(f"refusing to write {path} in the target: it is a symbolic link to {os.readlink(target)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    temporary = target.with_name(f".{target.name}.azl-new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)  # the umask may have narrowed the mode given to open()
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def read_file(root: Path, path: str) -> str:
    """The text of `path` inside the target, '' when it does not exist; a link is read where it resolves
    inside the target, never on the host."""
    target = inside(root, path)
    hops = 0
    while target.is_symlink():
        hops += 1
        if hops > _MAX_LINKS:
            raise UnsafePath(f"too many symbolic links in {path} inside {root}")
        link = PurePosixPath(os.readlink(target))
        within = link if link.is_absolute() else PurePosixPath("/", target.parent.relative_to(root), link)
        target = inside(root, str(within))
    try:
        return target.read_text()
    except FileNotFoundError:
        return ""


def write_private_file(path: Path, text: str) -> None:
    """Create a file readable only by its owner (0600) before any content is written; never through a link."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def append_file(root: Path, path: str, text: str, mode: int = 0o600) -> Path:
    """Append to `path` inside the target (created with `mode`, parents too); never through a link."""
    target = inside(root, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "a") as handle:
        handle.write(text)
    return target
