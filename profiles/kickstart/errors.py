"""What a kickstart's problems are made of: a line's origin, a finding there, the error listing them all.

Kept apart from the reader so that catching KickstartError (the command line does, for every
command) does not load pykickstart, which brings requests with it: that happens only when a
kickstart is read.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    """Where a line came from: the file as the user named it, and its 1-based line number."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Finding:
    origin: Origin
    message: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.message}"


class KickstartError(Exception):
    """A kickstart that cannot be converted: every problem, one line each, in kickstart order."""

    def __init__(self, problems: list[Finding], warnings: list[Finding] | None = None) -> None:
        self.problems = sorted(problems, key=order)
        self.warnings = warnings or []
        super().__init__("\n".join(str(p) for p in self.problems))


def order(finding: Finding) -> tuple[str, int]:
    return (finding.origin.file, finding.origin.line)
