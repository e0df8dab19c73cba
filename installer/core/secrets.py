"""Secrets in memory and on tmpfs: held in a bytearray that is zeroed after use, files 0600 on tmpfs.

Python cannot promise that no copy of a value exists (the SDK returns immutable str objects,
which are dropped at once): this keeps the installer's own copies short-lived and wiped.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import TracebackType

# Where key files may go: the first of these on tmpfs (/run is tmpfs on the live system; /dev/shm elsewhere).
KEY_PARENTS = (Path("/run/azl-installer"), Path("/dev/shm/azl-installer"))
_TMPFS = ("tmpfs", "ramfs")


class SecretBytes:
    """A secret's bytes; repr never shows them; wipe() (or leaving the with-block) zeroes them."""

    __slots__ = ("_buf",)

    def __init__(self, data: bytes | bytearray) -> None:
        self._buf = bytearray(data)
        if isinstance(data, bytearray):
            data[:] = bytes(len(data))  # the caller's buffer is consumed

    @classmethod
    def from_text(cls, text: str) -> SecretBytes:
        return cls(text.encode())

    def view(self) -> memoryview:
        return memoryview(self._buf)

    def text(self) -> str:
        """A str copy (immutable, so it cannot be wiped): only for APIs that demand a str."""
        return self._buf.decode()

    def wipe(self) -> None:
        self._buf[:] = bytes(len(self._buf))

    def __len__(self) -> int:
        return len(self._buf)

    def __repr__(self) -> str:
        return f"<secret: {len(self._buf)} bytes>"

    __str__ = __repr__

    def __enter__(self) -> SecretBytes:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.wipe()


def filesystem_type(path: Path, mounts_text: str | None = None) -> str:
    """The type of the filesystem holding path, from /proc/self/mounts (longest matching mount point)."""
    text = mounts_text if mounts_text is not None else Path("/proc/self/mounts").read_text()
    target = os.path.realpath(path)
    best, kind = "", "unknown"
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


class KeyDir:
    """A private directory (0700) on tmpfs for key files (0600), shredded and removed on exit."""

    def __init__(self, parent: Path | None = None, *, require_tmpfs: bool = True) -> None:
        if parent is None:
            parent = next((p for p in KEY_PARENTS if filesystem_type(p) in _TMPFS), KEY_PARENTS[0])
        self.parent = parent
        self.require_tmpfs = require_tmpfs
        self.path = self.parent / f"keys-{os.getpid()}-{id(self):x}"

    def __enter__(self) -> KeyDir:
        self.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.require_tmpfs and filesystem_type(self.parent) not in _TMPFS:
            raise OSError(f"{self.parent} is not on tmpfs: refusing to write key material to a disk")
        self.path.mkdir(mode=0o700)
        return self

    def write(self, name: str, secret: SecretBytes) -> Path:
        """Write a key file readable only by its owner; the name must be new."""
        path = self.path / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = secret.view()
            written = 0
            while written < len(view):
                written += os.write(fd, view[written:])
        finally:
            os.close(fd)
        return path

    def shred(self, path: Path) -> None:
        if not path.exists():
            return
        size = path.stat().st_size
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, bytes(size))
            os.fsync(fd)
        finally:
            os.close(fd)
        path.unlink()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.path.exists():
            for child in self.path.iterdir():
                self.shred(child)
            shutil.rmtree(self.path, ignore_errors=True)
