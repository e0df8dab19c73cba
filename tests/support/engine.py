"""The engine over a recording runner and a real image file (pyparted writes its table), for engine tests.

Commands are recorded, not run; `partx --add` makes the partition nodes and `blkid` answers a UUID, so
the storage step goes through; what the payload would install is up to the test (on_dnf).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from installer.core.events import Event, EventBus
from installer.core.runner import RecordingRunner, Reply
from installer.engine import Engine
from installer.plan import make_plan
from profiles import Profile, profile_from_text
from storage.inventory import DiskInfo, Inventory

DISK_SIZE = 4 * 1024**3
FS_UUID = "0a1b2c3d-0000-4000-8000-000000000001"
# The head of a profile the recorded engine installs: one disk (DISK), BIOS, the sample repository's core group.
ONE_DISK = """\
storage:
  disks: [{path: DISK}]
  auto: {filesystem: ext4, boot: bios, boot_size: 256MiB}
payload:
  repositories: [{name: sample, baseurl: "file:///srv/sample", gpgcheck: false}]
  groups: [core]
"""


@dataclass
class Recorded:
    engine: Engine
    runner: RecordingRunner
    seen: list[Event]  # every event, in order
    root: Path  # the target root (a directory)
    disk: str  # the image file standing in for the disk


def recorded(tmp_path: Path, profile: Profile | str, *, size: int = DISK_SIZE,
             on_dnf: Callable[[Path], None] | None = None, tpm2: bool | None = None, disks: int = 1) -> Recorded:
    """An engine ready to run; a profile given as text names the disk DISK (DISK1, DISK2 ... for more
    disks; any disk rule is replaced). Recorded.disk is the first disk's image file."""
    images = [tmp_path / ("disk.img" if i == 0 else f"disk{i}.img") for i in range(disks)]
    for image in images:
        with image.open("wb") as handle:
            handle.truncate(size)
    devices = [f"/dev/{image.name}" for image in images]
    if isinstance(profile, str):
        for i in reversed(range(1, disks)):
            profile = profile.replace(f"DISK{i}", devices[i])
        profile = profile_from_text(profile.replace("DISK", devices[0]))
    rules = tuple(replace(rule, path=devices[i], serial=None, model=None, min_size=None, max_size=None)
                  for i, rule in enumerate(profile.storage.disks[:disks]))
    profile = replace(profile, storage=replace(profile.storage, disks=rules))
    # The recording runner plays a machine that can do it all (device-mapper, a TPM unless told otherwise).
    plan = make_plan(profile, Inventory(tuple(DiskInfo(d, size) for d in devices)), device_mapper=True,
                     tpm2=True if tpm2 is None else tpm2)
    # The planned disk paths point at the image files so pyparted can write real tables.
    by_device = dict(zip(devices, images, strict=True))

    def on_image(device: str) -> str:  # /dev/disk1.img3 -> TMP/disk1.img3
        disk = max((d for d in devices if device.startswith(d)), key=len, default=None)
        return device if disk is None else str(by_device[disk]) + device.removeprefix(disk)

    storage = plan.storage
    plan = replace(plan, storage=replace(
        storage, targets=tuple(replace(t, disk=replace(t.disk, path=str(by_device[t.disk.path])))
                               for t in storage.targets),
        raids=tuple(replace(r, members=tuple(replace(m, device=on_image(m.device)) for m in r.members))
                    for r in storage.raids),
        groups=tuple(replace(g, pvs=tuple(replace(m, device=on_image(m.device)) for m in g.pvs))
                     for g in storage.groups)))
    root = tmp_path / "target"
    root.mkdir()
    runner = RecordingRunner()

    def make_nodes(argv: tuple[str, ...]) -> None:
        for target in plan.storage.targets:
            for part in target.partitions:
                Path(part.device(target.disk.path)).touch()

    runner.reply(["partx", "--add"], Reply(effect=make_nodes))
    runner.reply(["blkid"], Reply(output=FS_UUID + "\n"))
    if on_dnf is not None:
        runner.reply(["dnf"], Reply(effect=lambda argv: on_dnf(root)))
    seen: list[Event] = []
    engine = Engine(plan, runner, EventBus(seen.append), target_root=root, workdir=tmp_path / "work", host_logs=[])
    (tmp_path / "work").mkdir()
    return Recorded(engine, runner, seen, root, str(images[0]))


def recorded_engine(tmp_path: Path, profile_text: str) -> tuple[Engine, RecordingRunner, list[Event], Path, str]:
    """(engine, runner, events seen, target root, disk image path); DISK in the profile names the disk."""
    r = recorded(tmp_path, profile_text)
    return r.engine, r.runner, r.seen, r.root, r.disk
