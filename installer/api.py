"""The one typed API the front ends use: everything the Textual UI and the line mode need from the engine.

Probe the disks, read the software catalog, plan, check one interactive section, preview a layout,
test a Key Vault connection, install (events to a sink), save the replayable profile or a log
bundle, name the latest log, power off or reboot. Front ends import this module and nothing else of
the engine (the data types they need are re-exported here, or live in profiles and
installer.core.events); what they hold is an InstallerAPI, a Protocol:

- SessionAPI (here) is the real one: installer.session on this machine, or into a disk image file.
- installer.dryrun.DryRunAPI answers from a recorded machine and writes nothing (`--dry-run`); the
  UI tests use it too, so there is one fake, not two.

open_api() chooses between them once, from the front end's options (no `if dry_run` anywhere else).

Both derive from EngineAPI, so a section check or a layout preview is the same code whichever runs.
Problems come back as data (profiles.Problem: a key path, a message that names no other place, and
related key paths); a front end names the places as it likes (the UI by device) and never parses the
text. Heavy imports stay deferred: importing this module loads neither pyparted nor the Azure SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from installer.api_base import (
    SECTION_KEYS,
    SECTIONS,
    EngineAPI,
    InstallerAPI,
    LayoutPreview,
    MachineFacts,
    PowerAction,
    SaveKind,
    Section,
    SectionCheck,
    automatic_partitions,
    disk_matches,
    host_facts,
    partition_device,
)
from installer.core.events import Event, EventBus, EventSink
from installer.core.localization import Listing, SystemLists, narrowed
from installer.core.passwords import hash_password
from installer.core.runner import RealRunner
from installer.core.signals import STOPPING_SIGNALS, request_stop, wait_for_install_end
from installer.dryrun import DEFAULT_MACHINE, DryRunAPI, MachineError, load_machine
from installer.dryrun import add_dry_run_arguments as _add_dry_run_arguments
from installer.keyvault.check import CheckResult
from installer.logbundle import Exists, SaveError
from installer.payload.catalog import Catalog, EnvironmentInfo, GroupInfo
from installer.plan import Plan, PlanError, PlanStep
from installer.session import DEFAULT_LOG_DIR, InstallOptions, Refused, install, plan_only
from installer.targetimage import planned_image_inventory
from profiles import Problem, Profile
from storage.inventory import DiskInfo, Inventory, PartitionInfo, probe
from storage.layout import DiskPlan, PlannedPartition, StoragePlan

if TYPE_CHECKING:
    from installer.keyvault.client import VaultSettings

# STOPPING_SIGNALS, request_stop and wait_for_install_end: how the UI stops an install it runs in a worker thread.
__all__ = [
    "SECTIONS", "SECTION_KEYS", "STOPPING_SIGNALS", "Catalog", "CheckResult", "DiskInfo", "DiskPlan", "EngineAPI",
    "EnvironmentInfo", "Event", "EventSink", "Exists", "GroupInfo", "InstallerAPI", "Inventory", "LayoutPreview",
    "Listing", "MachineFacts", "OptionsError", "PartitionInfo", "Plan", "PlanError", "PlanStep", "PlannedPartition",
    "PowerAction", "Problem", "Refused", "SaveError", "SaveKind", "Section", "SectionCheck", "SessionAPI",
    "StoragePlan", "SystemLists", "add_dry_run_arguments", "automatic_partitions", "disk_matches", "hash_password",
    "host_facts", "narrowed", "open_api", "partition_device", "request_stop", "wait_for_install_end",
]


class SessionAPI(EngineAPI):
    """The real engine: installer.session on this machine (or into a disk image file), never echoing events
    to the terminal (the front end shows them)."""

    def __init__(self, *, image: Path | None = None, image_size: int | None = None, log_dir: Path | None = None,
                 vault_settings: VaultSettings | None = None) -> None:
        self.image, self.image_size = image, image_size
        self.log_dir = log_dir or DEFAULT_LOG_DIR
        self.vault_settings = vault_settings

    def _size(self) -> int | None:
        return (self.image_size or 8 * 1024**3) if self.image is not None else None

    def facts(self) -> MachineFacts:
        return host_facts()

    def probe(self) -> Inventory:
        if self.image is not None:
            return planned_image_inventory(self.image, self._size() or 0)
        return probe(RealRunner(EventBus()))

    def plan(self, profile: Profile) -> Plan:
        return plan_only(profile, self.image, self._size())

    def install(self, profile: Profile, sink: EventSink) -> int:
        options = InstallOptions(yes=True, terminal=False, image=self.image, image_size=self._size(),
                                 log_dir=self.log_dir)
        return install(profile, options, sinks=[sink])

    def power(self, action: str) -> None:
        if action in get_args(PowerAction) and self.image is None:
            RealRunner(EventBus()).run(["systemctl", action], check=False)


# -- choosing the API, once, from the front end's options --------------------------------------
class OptionsError(ValueError):
    """Front-end options that do not go together, or a machine file that cannot be used: one line."""


def add_dry_run_arguments(parser: Any) -> None:
    """--dry-run and --machine on an argparse parser or group (installer.dryrun says what they do)."""
    _add_dry_run_arguments(parser)


@contextmanager
def open_api(*, dry_run: bool = False, machine: str | None = None, image: Path | None = None,
             image_size: int | None = None, log_dir: Path | None = None,
             report: Callable[[str], None] = lambda _line: None) -> Iterator[InstallerAPI]:
    """The API a front end talks to, chosen once: the real one, or with dry_run a recorded machine
    (installer.dryrun) that writes nothing; when the block ends, report hears what the dry-run wrote in its
    temporary directory (then removed) and what it did not run."""
    if not dry_run:
        if machine is not None:
            raise OptionsError("--machine names the recorded machine of --dry-run; add --dry-run")
        yield SessionAPI(image=image, image_size=image_size, log_dir=log_dir)
        return
    if image is not None or log_dir is not None:
        raise OptionsError("--dry-run writes nothing: it takes neither --target-image nor --log-dir")
    try:
        recorded = load_machine(machine or DEFAULT_MACHINE)
    except MachineError as err:
        raise OptionsError(f"--machine: {err}") from None
    with DryRunAPI.temporary(recorded) as api:
        try:
            yield api
        finally:
            for line in api.summary():
                report(line)
