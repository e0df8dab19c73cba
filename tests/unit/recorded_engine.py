"""An Engine over a recording runner and a real 4 GiB image file (pyparted writes its table), for engine tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from installer.core.events import Event, EventBus
from installer.core.runner import RecordingRunner, Reply
from installer.engine import Engine
from installer.plan import make_plan
from profiles import profile_from_text
from storage.inventory import DiskInfo, Inventory

DISK_SIZE = 4 * 1024**3


def recorded_engine(tmp_path: Path, profile_text: str) -> tuple[Engine, RecordingRunner, list[Event], Path, str]:
    """(engine, runner, events seen, target root, disk image path); DISK in the profile names the disk."""
    disk = tmp_path / "disk.img"
    with disk.open("wb") as handle:
        handle.truncate(DISK_SIZE)
    profile = profile_from_text(profile_text.replace("DISK", f"/dev/{disk.name}"))
    plan = make_plan(profile, Inventory((DiskInfo(f"/dev/{disk.name}", DISK_SIZE),)))
    # The planned disk path points at the image file so pyparted can write a real table.
    storage = replace(plan.storage, targets=tuple(replace(t, disk=replace(t.disk, path=str(disk)))
                                                  for t in plan.storage.targets))
    plan = replace(plan, storage=storage)
    runner = RecordingRunner()

    def make_nodes(argv: tuple[str, ...]) -> None:
        for number in (1, 2, 3):
            Path(f"{disk}{number}").touch()

    runner.reply(["partx", "--add"], Reply(effect=make_nodes))
    runner.reply(["blkid"], Reply(output="0a1b2c3d-0000-4000-8000-000000000001\n"))
    seen: list[Event] = []
    root = tmp_path / "target"
    root.mkdir()
    engine = Engine(plan, runner, EventBus(seen.append), target_root=root, workdir=tmp_path, host_logs=[])
    return engine, runner, seen, root, str(disk)
