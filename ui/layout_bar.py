"""A disk's layout drawn to scale in console-safe glyphs: one fill character per partition, '.' free.

Sizes come from the engine's plan when the layout fits (exact offsets, the growing partition
filled in); when it does not, the requested sizes are drawn against the larger of the disk and
their sum, and the part beyond the disk's end is drawn with '!'.
"""

from __future__ import annotations

from installer.api import DiskInfo, DiskPlan
from profiles.model import Partition
from profiles.sizes import format_size
from ui import glyphs

OVERFLOW = "!"


def fill(index: int) -> str:
    return glyphs.SEGMENT_FILLS[index % len(glyphs.SEGMENT_FILLS)]


def _cells(sizes: list[int], scale: int, width: int) -> list[int]:
    """Cells per segment: to scale, at least one each, never more than width in all."""
    cells = [max(1, round(s / scale * width)) if s else 0 for s in sizes]
    while sum(cells) > width and max(cells) > 1:
        cells[cells.index(max(cells))] -= 1
    return cells


def draw(disk_size: int, parts: list[Partition], plan: DiskPlan | None, width: int) -> str:
    """Exactly width cells."""
    if plan is not None:
        sizes = [p.size for p in plan.partitions]
        used = plan.partitions[-1].start + plan.partitions[-1].size if plan.partitions else 0
        free = max(0, disk_size - used)
        scale = disk_size or 1
    else:
        sizes = [p.size for p in parts]
        free = max(0, disk_size - sum(sizes))
        scale = max(disk_size, sum(sizes), 1)
    cells = _cells([*sizes, free], scale, width)
    bar = "".join(fill(i) * n for i, n in enumerate(cells[:-1])) + glyphs.EMPTY * cells[-1]
    if plan is None and sum(sizes) > disk_size:
        inside = round(disk_size / scale * width)
        bar = bar[:inside] + OVERFLOW * (len(bar) - inside)
    return (bar + glyphs.EMPTY * width)[:width]


def free_space(disk_size: int, plan: DiskPlan | None, parts: list[Partition]) -> str:
    if plan is None:
        over = sum(p.size for p in parts) - disk_size
        return f"{format_size(over)} too much" if over > 0 else "does not fit"
    used = plan.partitions[-1].start + plan.partitions[-1].size if plan.partitions else 0
    return f"{format_size(max(0, disk_size - used))} free"


def partition_lines(disk: DiskInfo) -> list[str]:
    if not disk.partitions:
        return [f"    {disk.path}: no partitions" + (f"; holds {disk.fstype}" if disk.fstype else "")]
    return [f"    {p.number:>2}  {format_size(p.size):>10}  {p.fstype or 'no filesystem':<14} {p.label or ''}"
            for p in disk.partitions[:3]] + ([f"    ... and {len(disk.partitions) - 3} more"]
                                              if len(disk.partitions) > 3 else [])
