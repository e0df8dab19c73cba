"""The glyphs the UI may draw: what the Linux console font shows (see ../shared/FACTS.md).

Printable ASCII, the single and double box-drawing lines (borders `solid`/`double`) and
the full block. State is always drawn with ASCII marks, never by colour alone.
"""

from __future__ import annotations

SAFE = frozenset(chr(c) for c in range(0x20, 0x7F)) | frozenset("─│┌┐└┘├┤┬┴┼═║╔╗╚╝╠╣╦╩╬█")

FULL = "█"
EMPTY = "."

CHECKED, UNCHECKED = "[x]", "[ ]"
SELECTED, UNSELECTED = "(*)", "( )"

# Disk roles: erase and install onto, keep untouched, not used.
ROLE_MARK = {"target": "[E]", "keep": "[K]", "unused": "[ ]"}

# Step states in the progress list.
STEP_MARK = {"pending": "[ ]", "running": "[>]", "done": "[+]", "failed": "[!]"}

# Fill characters of the to-scale layout bar, one per partition in turn.
SEGMENT_FILLS = "#=%+*~o"


def unsafe(text: str) -> set[str]:
    """The characters in text that the console cannot show (newlines are fine)."""
    return {ch for ch in text if ch not in SAFE and ch != "\n"}


def bar(fraction: float, width: int) -> str:
    """A progress bar of exactly width cells."""
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return FULL * filled + EMPTY * (width - filled)
