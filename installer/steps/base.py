"""What an install step is, and the two contexts it meets: the plan (nothing touched) and the install.

A step is one small class in its own module. It says who it is (id, title for the plan, what it is
doing for progress), when it applies to a profile, what it adds to the profile (packages, kernel
arguments), how it shows in the plan (every file it writes and command it runs), why this machine
could not carry it out (blockers), and how it runs against one InstallContext. The plan and the
engine walk the same ordered registry (installer/steps/__init__.py), so what is planned is what runs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar, Protocol

from installer.core.events import EventBus
from installer.core.runner import Runner
from profiles import Problem, Profile
from storage.apply import FstabEntry, MountTable
from storage.layout import Firmware, StoragePlan
from storage.luks import LuksVolume


@dataclass(frozen=True)
class PlanContext:
    """What a step sees while the plan is made: the profile with every step's additions, the storage plan."""

    profile: Profile
    storage: StoragePlan
    # /proc/filesystems of the machine that will install, to check the layout can be mounted here;
    # None when the plan is only shown (the UI's editors, a plan for another machine).
    kernel_filesystems: str | None = None
    # Whether that machine's kernel has device-mapper; None: ask this host (/proc/misc). A dry-run's
    # recorded machine says it itself.
    device_mapper: bool | None = None
    # Whether that machine has a TPM 2.0 (unlock tpm2 enrols with it); None: ask this host (/sys/class/tpmrm).
    tpm2: bool | None = None
    # The dnf that machine would install the payload with ("dnf5", "dnf 4"); None: not known (a dry-run,
    # a plan only shown), or no dnf there.
    dnf: str | None = None
    # The plan is for an install on this host: the profile's local paths are checked here (not for a dry-run
    # on a recorded machine, or a plan only shown).
    host_paths: bool = False

    @property
    def firmware(self) -> Firmware:
        return self.storage.firmware()


class Volumes(Protocol):
    """The encrypted volumes of an install (installer.encryption.VolumeEncryptor), as the steps use them."""

    volumes: list[LuksVolume]

    def data_device(self, device: str) -> str: ...

    def enroll_tpm2(self, pcrs: Sequence[int]) -> None: ...

    def close_all(self, devices: Collection[str] | None = None) -> list[str]: ...


@dataclass
class InstallContext:
    """One install: what every step reads, and what earlier steps leave for later ones."""

    profile: Profile
    storage: StoragePlan
    runner: Runner
    events: EventBus
    root: Path  # where the target is mounted
    workdir: Path  # host-side scratch space (dnf's config and cache, script files)
    plan_text: str  # the plan as shown and confirmed, saved into the target
    host_logs: list[Path]  # the installer's own logs, copied into the target at the end
    cleanup: ExitStack  # what must be undone however the install ends (steps push onto it)
    mounts: MountTable
    fstab: list[FstabEntry] = field(default_factory=list)  # set by the storage step
    opened: dict[str, str] = field(default_factory=dict)  # encrypted partition -> its opened /dev/mapper device
    built: list[str] = field(default_factory=list)  # arrays and volume groups made so far, for the teardown
    encrypted: Volumes | None = None  # set by the encryption-keys step
    boot_args: list[str] = field(default_factory=list)  # kernel arguments later steps need (unlock)
    initramfs_modules: list[str] = field(default_factory=list)  # modules later steps need in the initramfs


class Step:
    """Base of every step: override what applies; the defaults mean "always, adds nothing, no blockers"."""

    id: ClassVar[str]
    title: ClassVar[str]  # in the plan, imperative: "Partition and format disks"
    doing: ClassVar[str]  # in progress events: "partitioning and formatting"

    def applies(self, profile: Profile) -> bool:
        return True

    def amend(self, profile: Profile) -> Profile:
        """The profile with what this step needs from other steps (packages in the payload, kernel
        arguments for the boot loader). Must be idempotent: a saved profile replays the same install."""
        return profile

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        return ()

    def blockers(self, plan: PlanContext) -> list[Problem]:
        return []

    def run(self, ctx: InstallContext) -> None:
        raise NotImplementedError(self.id)


def add_packages(profile: Profile, names: Sequence[str]) -> Profile:
    """The profile with names joined to the payload's one dnf transaction (in order, each once). An
    image-only payload (no repositories) gets none: the image must already hold them."""
    payload = profile.payload
    if not payload.repositories:
        return profile
    missing = tuple(n for n in names if n not in payload.packages)
    return replace(profile, payload=replace(payload, packages=(*payload.packages, *missing))) if missing else profile


def excluded(profile: Profile, names: Sequence[str]) -> list[Problem]:
    """A blocker for each needed package the profile also excludes from the payload."""
    return [Problem(("payload", "exclude"), f"{name} is needed by the azure/cloud_init sections; remove it from "
                    "exclude or turn its switch off") for name in names if name in profile.payload.exclude]
