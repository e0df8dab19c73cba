"""An InstallContext for running one step against a directory as the target root."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from installer.core.events import EventBus
from installer.core.runner import RecordingRunner, Runner
from installer.steps import InstallContext
from profiles import Profile
from storage.apply import FstabEntry, MountTable
from storage.layout import StoragePlan


def step_context(profile: Profile, root: Path, *, runner: Runner | None = None, events: EventBus | None = None,
                 fstab: Sequence[FstabEntry] = (), storage: StoragePlan | None = None,
                 cleanup: ExitStack | None = None) -> InstallContext:
    return InstallContext(profile=profile, storage=storage or StoragePlan((), (), ()),
                          runner=runner or RecordingRunner(), events=events or EventBus(), root=root,
                          workdir=root.parent, plan_text="(plan)", host_logs=[], cleanup=cleanup or ExitStack(),
                          mounts=MountTable(root), fstab=list(fstab))
