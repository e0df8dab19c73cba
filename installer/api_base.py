"""What every InstallerAPI shares (installer.api is the front ends' one module; read its docstring).

The Protocol the front ends hold, the data it returns (MachineFacts, SectionCheck, LayoutPreview,
Problems), the pure helpers the editors need, and EngineAPI: everything computed from a profile and an
inventory, and the saved files, which the real API (installer.api.SessionAPI) and the dry-run
(installer.dryrun.DryRunAPI) inherit, so a section check or a layout preview is the same code whichever
runs. Heavy imports stay deferred: importing this module loads neither pyparted nor the Azure SDK.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, get_args

from installer.core.events import EventSink
from installer.core.localization import SystemLists, system_lists
from installer.keyvault.check import CheckResult, check_vault  # (the Azure SDK loads only in check_vault)
from installer.logbundle import default_name, save_log_bundle, save_profile
from installer.payload.catalog import Catalog, load_catalog
from installer.plan import Plan, PlanError, make_plan
from installer.session import DEFAULT_LOG_DIR
from profiles import Problem, Profile
from profiles.checks import check_profile
from profiles.model import AutoLayout, DiskMatch, Encryption, Partition, Storage
from profiles.source import KeyPath
from storage.inventory import DiskInfo, Inventory
from storage.layout import DiskPlan, LayoutError, PlannedPartition, StoragePlan, auto_partitions, matches, plan_storage
from storage.luks import device_mapper_available, tpm2_available

if TYPE_CHECKING:
    from installer.keyvault.client import VaultSettings

Section = Literal["system", "storage", "encryption", "software", "users", "cloud_init"]
SECTIONS: tuple[Section, ...] = get_args(Section)  # the interactive sections, in the order the screens come
PowerAction = Literal["reboot", "poweroff"]
SaveKind = Literal["profile", "logs"]
Progress = Callable[[str], None]

# The problems a section's screen answers for, by the profile's top-level key ('' is the machine itself:
# what its kernel cannot mount is a layout matter) ...
SECTION_KEYS: dict[Section, tuple[str, ...]] = {
    "system": ("system",), "storage": ("storage", "bootloader", ""), "encryption": ("encryption",),
    "software": ("payload",), "users": ("users", "root"), "cloud_init": ("cloud_init",),
}
# ... and plan blockers raised elsewhere that only the layout can fix (Trusted Launch needs an ESP).
LAYOUT_BLOCKERS: tuple[KeyPath, ...] = (("azure", "trusted_launch"),)


def _belongs(problem: Problem, section: Section, *, blocker: bool = False) -> bool:
    if problem.section in SECTION_KEYS[section]:
        return True
    return blocker and section == "storage" and any(problem.path[:len(p)] == p for p in LAYOUT_BLOCKERS)


@dataclass(frozen=True)
class MachineFacts:
    """The installing machine, as far as planning cares: the real host's, or a dry-run machine's record."""

    firmware: Literal["uefi", "bios"]
    memory: int  # bytes; 0 when unknown
    filesystems: tuple[str, ...]  # what its kernel can mount now (/proc/filesystems)
    device_mapper: bool  # dm-crypt can open LUKS volumes (/proc/misc)
    tpm2: bool = False  # a TPM 2.0 for unlock tpm2 (/sys/class/tpmrm)
    recorded: bool = False  # a dry-run's recorded machine, not this host
    description: str = ""  # the recorded machine's own words

    def proc_filesystems(self) -> str:
        """The facts as /proc/filesystems text, which is what the planner reads."""
        return "".join(f"\t{name}\n" for name in self.filesystems)


@dataclass(frozen=True)
class SectionCheck:
    """The engine's verdict on one section: mistakes to fix there, and what this machine would refuse."""

    problems: tuple[Problem, ...] = ()  # profiles.checks and the planner (a layout that does not fit)
    blockers: tuple[Problem, ...] = ()  # the plan's blockers for the section: Review refuses to install

    @property
    def ok(self) -> bool:
        return not self.problems and not self.blockers

    def first(self) -> tuple[Problem, ...]:
        """What to fix first: the problems, or when there are none the blockers."""
        return self.problems or self.blockers


@dataclass(frozen=True)
class LayoutPreview:
    """The storage plan the Disks screen and the layout editor draw (exact sizes), or why there is none."""

    plan: StoragePlan | None
    problem: Problem | None = None

    def disk(self, path: str) -> DiskPlan | None:
        return next((t for t in self.plan.targets if t.disk.path == path), None) if self.plan else None


class InstallerAPI(Protocol):
    """What a front end sees of the engine. Every call may block: the UI runs the slow ones in workers."""

    image: Path | None  # installing into a disk image file: the machine's own disks are never offered

    def facts(self) -> MachineFacts: ...

    def probe(self) -> Inventory: ...

    def catalog(self, profile: Profile) -> Catalog: ...

    def localization(self) -> SystemLists:
        """The time zones, console keymaps and locales to offer (installer.core.localization)."""
        ...

    def plan(self, profile: Profile) -> Plan:
        """What installing profile here would do, with this machine's blockers; PlanError when it cannot."""
        ...

    def check(self, section: Section, profile: Profile, inventory: Inventory) -> SectionCheck:
        """The profile checks and the plan's blockers for one interactive section (cheap: after each edit)."""
        ...

    def layout(self, storage: Storage, inventory: Inventory) -> LayoutPreview: ...

    def any_vault_host(self, encryption: Encryption | None) -> bool:
        """May the vault URL be outside Azure's vault domains (a profile's ca_bundle names a private CA)?"""
        ...

    def test_vault(self, encryption: Encryption, progress: Progress | None = None) -> CheckResult:
        """Sign in and use the key or secret as the install will; writes nothing. Loads the Azure SDK."""
        ...

    def install(self, profile: Profile, sink: EventSink) -> int:
        """Plan and run the install (confirmed by the caller); 0 done, 1 failed. Raises Refused, PlanError."""
        ...

    def save_profile(self, profile: Profile, path: Path, *, overwrite: bool = False) -> Path: ...

    def save_log_bundle(self, plan: Plan | None, path: Path, *, overwrite: bool = False) -> Path: ...

    def suggested_path(self, kind: SaveKind) -> Path:
        """Where a saved profile or log bundle goes unless the user types another path: beside the log."""
        ...

    def latest_log(self) -> Path | None: ...

    def power(self, action: str) -> None:
        """reboot or poweroff (anything else, such as exit, does nothing)."""
        ...


# -- pure helpers the editors need (the same for every machine) ------------------------------
def partition_device(disk_path: str, number: int) -> str:
    """The device of partition number on disk_path: /dev/vda3, /dev/nvme0n1p3 (the kernel's rule)."""
    return PlannedPartition(number, 0, 0, "", None, None).device(disk_path)


def automatic_partitions(auto: AutoLayout) -> list[Partition]:
    """The partitions of the automatic layout, where the custom layout editor starts."""
    return auto_partitions(auto)


def disk_matches(rule: DiskMatch, disk: DiskInfo) -> bool:
    return matches(rule, disk)


def host_facts() -> MachineFacts:
    """This machine's firmware, memory and kernel features, read from /sys and /proc (cheap, read-only)."""

    def read(path: str) -> str:
        try:
            return Path(path).read_text()
        except OSError:
            return ""

    memory = next((int(line.split()[1]) * 1024 for line in read("/proc/meminfo").splitlines()
                   if line.startswith("MemTotal:")), 0)
    filesystems = tuple(line.split()[-1] for line in read("/proc/filesystems").splitlines() if line.strip())
    return MachineFacts(firmware="uefi" if Path("/sys/firmware/efi").is_dir() else "bios", memory=memory,
                        filesystems=filesystems, device_mapper=device_mapper_available(), tpm2=tpm2_available())


class EngineAPI:
    """What the real API and the dry-run share: everything computed from a profile and an inventory, and
    the saved files. Subclasses say where the machine is (facts, probe, plan, install, power)."""

    image: Path | None = None
    log_dir: Path = DEFAULT_LOG_DIR  # where the install log is, as the machine names it
    vault_settings: VaultSettings | None = None  # Key Vault client settings for test_vault; None: the install's

    # -- the machine (subclasses) ------------------------------------------------------------
    def facts(self) -> MachineFacts:
        raise NotImplementedError

    def _device_mapper(self) -> bool | None:
        """For checks: None asks this host when a check needs it; a recorded machine says it itself."""
        return None

    def _tpm2(self) -> bool | None:
        """As _device_mapper, for the TPM 2.0."""
        return None

    def host_path(self, path: Path) -> Path:
        """Where a file of the machine is on this host (the dry-run keeps its machine's files apart)."""
        return path

    def _files_root(self) -> Path | None:
        return None

    def _before_save(self, path: Path) -> None:
        """Called before a file is saved at path."""

    def localization(self) -> SystemLists:
        return system_lists()  # the installer system's own: on the ISO, what the payload provides

    # -- computed from profile and inventory -------------------------------------------------
    def catalog(self, profile: Profile) -> Catalog:
        return load_catalog(profile.payload.repositories)

    def check(self, section: Section, profile: Profile, inventory: Inventory) -> SectionCheck:
        problems = [p for p in check_profile(profile) if _belongs(p, section)]
        if self.image is not None:  # the image replaces the profile's disk rules (installer.session does so)
            problems = [p for p in problems if p.path[:2] not in (("storage", "disks"), ("storage", "leave_alone"))]
        # Without kernel features: the editors call this after every change, and the real host only knows
        # them after loading modules (plan() does that, for Review).
        try:
            plan, placed = make_plan(profile, inventory, device_mapper=self._device_mapper(), tpm2=self._tpm2()), True
        except PlanError as err:  # the layout does not fit: the storage section's problem
            problems += [err.problem] if _belongs(err.problem, section) else []
            # Other sections' blockers do not depend on the disks: plan them without any.
            plan = make_plan(replace(profile, storage=Storage(disks=())), Inventory(),
                             device_mapper=self._device_mapper(), tpm2=self._tpm2())
            placed = False
        blockers = [b for b in plan.blockers if _belongs(b, section, blocker=True)
                    and (placed or not _belongs(b, "storage", blocker=True))]
        return SectionCheck(tuple(problems), tuple(blockers))

    def layout(self, storage: Storage, inventory: Inventory) -> LayoutPreview:
        try:
            return LayoutPreview(plan_storage(storage, inventory))
        except LayoutError as err:
            return LayoutPreview(None, err.problem)

    # -- Key Vault -----------------------------------------------------------------------------
    def any_vault_host(self, encryption: Encryption | None) -> bool:
        if encryption is not None and encryption.ca_bundle:
            return True
        return self.vault_settings is not None and not self.vault_settings.verify_challenge_resource

    def test_vault(self, encryption: Encryption, progress: Progress | None = None) -> CheckResult:
        return check_vault(encryption, self.vault_settings, progress)

    # -- files ---------------------------------------------------------------------------------
    def latest_log(self) -> Path | None:
        logs = sorted(self.host_path(self.log_dir).glob("install-*.log"))
        return self.log_dir / logs[-1].name if logs else None

    def suggested_path(self, kind: SaveKind) -> Path:
        log = self.latest_log()
        return (log.parent if log is not None else Path.cwd()) / default_name(kind, log)

    def save_profile(self, profile: Profile, path: Path, *, overwrite: bool = False) -> Path:
        self._before_save(path)
        return save_profile(profile, path, overwrite=overwrite, root=self._files_root())

    def save_log_bundle(self, plan: Plan | None, path: Path, *, overwrite: bool = False) -> Path:
        self._before_save(path)
        log = self.latest_log()
        return save_log_bundle(plan, self.host_path(log) if log is not None else None, path, overwrite=overwrite,
                               root=self._files_root())
