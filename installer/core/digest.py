"""The SHA-256 of a file, read in blocks: root images, the fetched live root, network boot files.

Standard library only: the ISO's launcher uses it on the live system too.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """Hex digest; OSError as reading the file raises it."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
