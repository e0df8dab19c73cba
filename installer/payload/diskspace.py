"""A target filesystem too small for the payload, read from dnf's output (both dnfs print rpm's words).

rpm checks the space (and inodes) every package needs before it writes anything: "installing
package bigdata-1.0-1.azl4.noarch needs 10MB more space on the / filesystem" (dnf 4 after
"Transaction test error:", dnf5 after "Transaction failed"). Should a filesystem fill up anyway
while packages are unpacked (another writer, a sparse estimate), rpm says "No space left on
device" for the file it was writing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NEEDS = re.compile(r"installing package (\S+) needs (\S+) more (space|inodes) on the (\S+) filesystem")
_NO_SPACE = re.compile(r"(?:unpacking of archive failed on file|failed to write) (\S+?):?\s.*No space left on device")


@dataclass
class SpaceProblems:
    needs: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # filesystem -> (package, amount, what)
    full_at: str | None = None  # the file being written when the filesystem filled up

    def read(self, line: str) -> None:
        if match := _NEEDS.search(line):
            package, amount, what, mount = match.groups()
            self.needs.setdefault(mount, (package, amount, what))
        elif (match := _NO_SPACE.search(line)) and self.full_at is None:
            self.full_at = match.group(1).partition(";")[0]  # rpm writes to "NAME;TRANSACTIONID" first
        elif "No space left on device" in line and self.full_at is None:
            self.full_at = ""

    def describe(self) -> str | None:
        parts = [f"the target's {mount} filesystem is too small: package {package} needs {amount} more "
                 f"{what} there (make {mount} bigger, or install fewer packages)"
                 for mount, (package, amount, what) in self.needs.items()]
        if not parts and self.full_at is not None:
            where = f" while writing {self.full_at}" if self.full_at else ""
            parts.append(f"the target ran out of space{where} (no space left on device): make its filesystems "
                         "bigger, or install fewer packages")
        return "; ".join(parts) or None
