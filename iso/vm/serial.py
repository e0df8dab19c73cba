"""What the live system reports on its serial console, read back on the host.

The launcher (iso/launcher.py) writes the markers; they are imported from it, so the two ends
cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from iso.launcher import LOG_BEGIN, LOG_END, READY_MARKER, RESULT_MARKER

__all__ = ["LOG_BEGIN", "LOG_END", "READY_MARKER", "RESULT_MARKER", "InstallReport", "parse_install_result",
           "read_log", "tail"]

_RESULT_RE = re.compile(rf"{RESULT_MARKER} rc=(-?\d+)")


@dataclass(frozen=True)
class InstallReport:
    rc: int | None  # None: the guest never reported a result
    log: str | None  # the install log the guest printed between the markers, if any


def parse_install_result(serial: str) -> InstallReport:
    """Find the last `AZL-INSTALL-RESULT rc=N` and the last AZL-LOG-BEGIN..AZL-LOG-END block."""
    lines = serial.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    rc: int | None = None
    log: str | None = None
    block: list[str] | None = None
    for line in lines:
        if block is not None:
            if LOG_END in line:
                log, block = "\n".join(block), None
            else:
                block.append(line)
            continue
        if LOG_BEGIN in line:
            block = []
        match = _RESULT_RE.search(line)
        if match:
            rc = int(match.group(1))
    if block is not None and log is None:  # the guest died in the middle of the log
        log = "\n".join(block)
    return InstallReport(rc, log)


def read_log(path: Path) -> str:
    """A serial log as text ("" before QEMU created it); the guest may write any bytes."""
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def tail(serial: str, lines: int = 30) -> str:
    return "\n".join(serial.replace("\r", "").splitlines()[-lines:])
