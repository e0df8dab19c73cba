"""Disks as plain data: what the installer knows about the machine before it changes anything.

probe() only reads (lsblk, sfdisk --json, blkid -p); the result can be saved as JSON and
replayed in tests and in the UI.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from installer.core.runner import Runner
from profiles.sizes import format_size
from storage.release import LSBLK


@dataclass(frozen=True)
class PartitionInfo:
    number: int
    start: int  # bytes from the start of the disk
    size: int  # bytes
    type: str  # GPT type GUID or MBR id, as sfdisk reports it
    name: str = ""
    fstype: str | None = None
    label: str | None = None
    uuid: str | None = None


@dataclass(frozen=True)
class DiskInfo:
    path: str
    size: int
    model: str = ""
    serial: str = ""
    sector_size: int = 512
    readonly: bool = False
    table: str | None = None  # "gpt", "dos" or None (no partition table)
    partitions: tuple[PartitionInfo, ...] = ()
    fstype: str | None = None  # a filesystem on the whole disk, if any

    def describe(self) -> str:
        bits = [self.path, format_size(self.size)]
        bits += [f"model {self.model!r}"] if self.model else []
        bits += [f"serial {self.serial!r}"] if self.serial else []
        return ", ".join(bits)


@dataclass(frozen=True)
class Inventory:
    disks: tuple[DiskInfo, ...] = field(default=())
    # `lsblk --json` of every block device with what is built on the disks (arrays, mappings, volumes,
    # mounts): what storage/release.py must take down first. "" when not probed (a recorded machine).
    stack: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @staticmethod
    def from_json(text: str) -> Inventory:
        data = json.loads(text)
        disks = tuple(
            DiskInfo(**{**d, "partitions": tuple(PartitionInfo(**p) for p in d.get("partitions", []))})
            for d in data["disks"]
        )
        return Inventory(disks, data.get("stack", ""))

    def find(self, path: str) -> DiskInfo | None:
        real = os.path.realpath(path)
        return next((d for d in self.disks if d.path in (path, real)), None)


def probe(runner: Runner, only: list[str] | None = None) -> Inventory:
    """Read every disk (or only the given device paths); never writes."""
    argv = ["lsblk", "--json", "--bytes", "--nodeps", "--output", "PATH,SIZE,MODEL,SERIAL,TYPE,RO,LOG-SEC,FSTYPE"]
    result = runner.run([*argv, *(only or [])])
    rows = json.loads(result.output or '{"blockdevices": []}').get("blockdevices", [])
    disks = []
    for row in rows:
        if row.get("type") not in ("disk", "loop") or int(row.get("size") or 0) == 0:
            continue
        if row.get("type") == "loop" and row.get("ro") and not only:
            continue  # a read-only loop device is the live system's own image, never a disk to offer
        disks.append(_disk(runner, row))
    stack = runner.run(LSBLK, check=False)
    return Inventory(tuple(disks), stack.output if stack.returncode == 0 else "")


def _disk(runner: Runner, row: dict[str, Any]) -> DiskInfo:
    path = row["path"]
    sector = int(row.get("log-sec") or 512)
    table_json = runner.run(["sfdisk", "--json", path], check=False)
    table: str | None = None
    parts: list[PartitionInfo] = []
    if table_json.returncode == 0 and table_json.output.strip().startswith("{"):
        pt = json.loads(table_json.output)["partitiontable"]
        table = pt.get("label")
        sector = int(pt.get("sectorsize", sector))
        for number, entry in enumerate(pt.get("partitions", []), start=1):
            start, size = int(entry["start"]) * sector, int(entry["size"]) * sector
            fs = _probe_fs(runner, path, start, size)
            parts.append(
                PartitionInfo(
                    number=number, start=start, size=size, type=str(entry.get("type", "")),
                    name=str(entry.get("name", "")), fstype=fs.get("TYPE"), label=fs.get("LABEL"),
                    uuid=fs.get("UUID"),
                )
            )
    return DiskInfo(
        path=path, size=int(row["size"]), model=(row.get("model") or "").strip(),
        serial=(row.get("serial") or "").strip(), sector_size=sector, readonly=bool(row.get("ro")),
        table=table, partitions=tuple(parts), fstype=row.get("fstype") if table is None else None,
    )


def _probe_fs(runner: Runner, path: str, start: int, size: int) -> dict[str, str]:
    # Read the filesystem signature at the partition's offset on the whole disk: this works
    # even where the kernel has not created partition device nodes.
    result = runner.run(
        ["blkid", "--probe", "--output", "export", "--offset", str(start), "--size", str(size), path], check=False
    )
    values = {}
    for line in result.output.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key] = value
    return values
