"""Byte sizes as users write them in profiles ("512MiB", "20G", "1.5 TiB")."""

from __future__ import annotations

import re

_UNITS = {
    "": 1,
    "B": 1,
    "K": 1024, "KIB": 1024, "KB": 1000,
    "M": 1024**2, "MIB": 1024**2, "MB": 1000**2,
    "G": 1024**3, "GIB": 1024**3, "GB": 1000**3,
    "T": 1024**4, "TIB": 1024**4, "TB": 1000**4,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")

KiB = 1024
MiB = 1024**2
GiB = 1024**3
# Larger than any disk: a size above it is a typo, and the plan's arithmetic and messages (format_size divides
# into floats) never meet a number of hundreds of digits.
MAX_SIZE = 2**64
TOO_LARGE = "a size cannot be more than 16 EiB: no disk is that large"


class SizeError(ValueError):
    """A size string that cannot be understood; the message is shown to the user."""


def parse_size(text: str | int) -> int:
    """Return a size in bytes. Bare numbers are bytes; K/M/G/T and KiB.. are binary, KB.. decimal."""
    if isinstance(text, bool):
        raise SizeError("expected a size such as 512MiB or 20GiB, got a boolean")
    if isinstance(text, int):
        if text < 0:
            raise SizeError("a size cannot be negative")
        if text > MAX_SIZE:
            raise SizeError(TOO_LARGE)
        return text
    match = _SIZE_RE.match(text)
    if not match:
        raise SizeError(f"'{text}' is not a size (examples: 512MiB, 20GiB, 1TiB)")
    number, unit = match.groups()
    factor = _UNITS.get(unit.upper())
    if factor is None:
        raise SizeError(f"unknown size unit '{unit}' in '{text}' (use KiB, MiB, GiB or TiB)")
    size = float(number) * factor  # inf for a number of hundreds of digits
    if size > MAX_SIZE:
        raise SizeError(TOO_LARGE)
    return int(size)


def format_size(size: int) -> str:
    """Human-readable binary size, exact when it is a whole number of the unit."""
    for unit, factor in (("TiB", 1024**4), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if size % factor == 0 else f"{value:.1f} {unit}"
    return f"{size} B"
