"""Dry-run: the real front ends against a recorded machine, writing nothing (subiquity's dry-run is the model).

`azl-installer --dry-run --machine FILE [--text]` runs the real UI with a DryRunAPI. A machine file
(JSON; shipped ones in installer/data/machines) records what probing would find: the disks in the
Inventory shape (sizes, models, serials, partitions), the firmware, the memory and which kernel
features exist. DryRunAPI answers probe() from it, and plans and checks with the same code as the
real API (installer.api_base.EngineAPI), so blockers are this machine's (no device-mapper: encryption
is refused at Review, exactly as on a real host without it).

What "install" does: the real engine's step framing (installer.engine.Engine.step: started,
finished with its time, a failure naming the step) walks the confirmed plan, and each step's work
is replaced by its plan details as progress lines (the files it would write, the commands it would
run); commands go to a RecordingRunner and none is run. That exercises the front end's flow, the
planner and its blockers, the event stream and Progress, the install log, the log bundle and the
saved profile. It does not exercise any step's own code, pyparted, mkfs, dnf, the boot loader or
anything written to a disk. A machine file may make one step fail, to see the failure screens.
"Test connection" runs the real Key Vault client (it only reads) against the vault named.

Files: what the machine would write (the install log, saved profiles and log bundles) goes under
one directory standing for its / (a temporary directory removed at exit), shown with the machine's
paths (/var/log/azl-installer/...). Nothing is written anywhere else: no disk, no loop device,
nothing under /var/log or /run.
"""

from __future__ import annotations

import argparse
import difflib
import json
import shlex
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from installer.api_base import EngineAPI, MachineFacts
from installer.core.events import Event, EventBus, EventSink
from installer.core.localization import SystemLists
from installer.core.runner import RecordingRunner
from installer.engine import Engine, InstallFailed
from installer.plan import Plan, PlanStep, make_plan
from installer.session import Refused, install_logs
from profiles import Profile
from profiles.sizes import SizeError, format_size, parse_size
from storage.inventory import Inventory

if TYPE_CHECKING:
    from installer.keyvault.client import VaultSettings

MACHINES = Path(__file__).parent / "data" / "machines"
DEFAULT_MACHINE = "one-disk-uefi"
_KEYS = ("description", "firmware", "memory", "kernel", "disks", "install")
_KERNEL_KEYS = ("filesystems", "device_mapper", "tpm2")
_INSTALL_KEYS = ("fail_step", "fail_message", "step_seconds")


DRY_RUN_HELP = (
    "run the real installer (Textual or --text) against a recorded machine and write nothing: no disk, no loop "
    "device, nothing under /var/log or /run; its log and any saved file live in a temporary directory removed at "
    "exit, shown with the machine's paths. Disks, firmware, memory and kernel features come from --machine; the "
    "plan, checks and blockers are the real ones. 'Install' runs the engine's step events over the plan and logs "
    "each step's plan details instead of doing it: no step's own code, command, pyparted, mkfs, dnf or boot "
    "loader runs. Test connection does reach the vault named (it only reads). Needs no root.")


def _host_dir(path: Path) -> bool:
    """Whether path is a directory on this host; one this user may not look into (a root-only
    /var/log/azl-installer, for a dry-run as another user) counts as none."""
    try:
        return path.is_dir()
    except OSError:
        return False


class _Options(Protocol):
    def add_argument(self, *names: str, **options: Any) -> argparse.Action: ...


def add_dry_run_arguments(parser: _Options) -> None:
    """--dry-run and --machine, for `azl-installer` and `python -m ui` alike."""
    parser.add_argument("--dry-run", action="store_true", help=DRY_RUN_HELP)
    parser.add_argument("--machine", metavar="FILE", help="the recorded machine for --dry-run: a JSON file, or "
                        f"one shipped: {', '.join(shipped_machines())} (default {DEFAULT_MACHINE})")


class MachineError(ValueError):
    """A machine file that cannot be used: one line naming the file and the key."""


@dataclass(frozen=True)
class Machine:
    """A recorded machine: what probing finds, its facts, and how a dry-run install behaves on it."""

    name: str
    inventory: Inventory
    facts: MachineFacts
    fail_step: str | None = None  # this step of the plan fails (to see the failure screens), else none
    fail_message: str = "the machine file asks this step to fail (dry-run)"
    step_seconds: float = 0.3  # how long each step's walk takes, so progress can be watched
    lists: SystemLists | None = None  # the time zones, keymaps and locales offered; None: this system's


def shipped_machines() -> list[str]:
    return sorted(p.stem for p in MACHINES.glob("*.json"))


def _known(data: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    for key in data:
        if key not in keys:
            close = difflib.get_close_matches(key, keys, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise MachineError(f"{where}: unknown key '{key}'{hint}; known keys: {', '.join(keys)}")


def machine_from_json(text: str, name: str) -> Machine:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise MachineError(f"{name}: not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise MachineError(f"{name}: expected a JSON object")
    _known(data, _KEYS, name)
    kernel, install = data.get("kernel", {}), data.get("install", {})
    _known(kernel, _KERNEL_KEYS, f"{name}: kernel")
    _known(install, _INSTALL_KEYS, f"{name}: install")
    firmware = data.get("firmware", "uefi")
    if firmware not in ("uefi", "bios"):
        raise MachineError(f"{name}: firmware: must be uefi or bios; got {firmware!r}")
    try:
        memory = data.get("memory", 0)
        memory = parse_size(memory) if isinstance(memory, str) else int(memory)
        inventory = Inventory.from_json(json.dumps({"disks": data["disks"]}))
    except SizeError as err:
        raise MachineError(f"{name}: memory: {err}") from None
    except KeyError as err:
        raise MachineError(f"{name}: missing key {err}") from None
    except (TypeError, ValueError) as err:  # a disk or partition with a wrong or unknown field
        raise MachineError(f"{name}: disks: {err}") from None
    facts = MachineFacts(firmware=firmware, memory=memory,
                         filesystems=tuple(kernel.get("filesystems", ("ext4", "xfs", "btrfs", "vfat"))),
                         device_mapper=bool(kernel.get("device_mapper", True)),
                         tpm2=bool(kernel.get("tpm2", False)), recorded=True,
                         description=str(data.get("description", "")))
    return Machine(name, inventory, facts, fail_step=install.get("fail_step"),
                   fail_message=install.get("fail_message", Machine.fail_message),
                   step_seconds=float(install.get("step_seconds", Machine.step_seconds)))


def load_machine(name_or_path: str | Path) -> Machine:
    """A machine file by path, or a shipped machine by name (one-disk-uefi, three-disks, ...)."""
    path = Path(name_or_path)
    if not path.exists() and (MACHINES / f"{name_or_path}.json").exists():
        path = MACHINES / f"{name_or_path}.json"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise MachineError(f"{name_or_path}: cannot read the machine file: {err.strerror}; shipped machines: "
                           f"{', '.join(shipped_machines())}") from None
    return machine_from_json(text, path.stem)


@contextmanager
def _exit_on_signals() -> Iterator[None]:
    """SIGHUP and SIGTERM end the program as an exception does, so with-blocks clean up on the way out."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def leave(number: int, _frame: object) -> None:
        raise SystemExit(128 + number)

    previous = {number: signal.signal(number, leave) for number in (signal.SIGHUP, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class _DryRunFailure(Exception):
    """The step the machine file names fails with its message."""


class _ClockedBus(EventBus):
    """Every event stamped by the dry-run's clock (tests pin it, so logs and screens are the same each run)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__()
        self._clock = clock

    def emit(self, event: Event) -> None:
        super().emit(replace(event, time=self._clock()))


class DryRunAPI(EngineAPI):
    """installer.api's InstallerAPI on a recorded machine; see the module docstring for what it exercises."""

    def __init__(self, machine: Machine, root: Path, *, stamp: str | None = None,
                 clock: Callable[[], float] = time.time, vault_settings: VaultSettings | None = None) -> None:
        self.machine = machine
        self.root = root  # stands for the machine's /: every file the dry-run writes is under it
        self.stamp, self.clock = stamp, clock  # the log's name stamp and the events' time (tests pin both)
        self.vault_settings = vault_settings
        self.runner = RecordingRunner()  # commands the dry-run would have run (power off, reboot)
        self.installed: list[Profile] = []  # every profile an install was asked for, in order

    @classmethod
    @contextmanager
    def temporary(cls, machine: Machine, **options: Any) -> Iterator[DryRunAPI]:
        """A dry-run whose files live in a temporary directory, removed when the block ends, also when the
        program is hung up or terminated (a closed terminal or tmux window would otherwise leave it)."""
        with _exit_on_signals(), tempfile.TemporaryDirectory(prefix="azl-installer-dry-run-") as root:
            yield cls(machine, Path(root), **options)

    # -- the machine ---------------------------------------------------------------------------
    def facts(self) -> MachineFacts:
        return self.machine.facts

    def probe(self) -> Inventory:
        return self.machine.inventory

    def localization(self) -> SystemLists:
        return self.machine.lists or super().localization()

    def plan(self, profile: Profile) -> Plan:
        facts = self.machine.facts
        return make_plan(profile, self.machine.inventory, kernel_filesystems=facts.proc_filesystems(),
                         device_mapper=facts.device_mapper, tpm2=facts.tpm2)

    def _device_mapper(self) -> bool | None:
        return self.machine.facts.device_mapper

    def _tpm2(self) -> bool | None:
        return self.machine.facts.tpm2

    def host_path(self, path: Path) -> Path:
        return self.root / path.relative_to(path.anchor) if path.is_absolute() else path

    def _files_root(self) -> Path | None:
        return self.root

    def _before_save(self, path: Path) -> None:
        # The machine has the host's directories (empty), so a save is refused or done as it would be here.
        path = path.expanduser()
        for directory in (path, path.parent):
            if path.is_absolute() and _host_dir(directory):
                self.host_path(directory).mkdir(parents=True, exist_ok=True)

    def power(self, action: str) -> None:
        if action in ("reboot", "poweroff"):
            self.runner.run(["systemctl", action], check=False)  # recorded, never run

    # -- install -------------------------------------------------------------------------------
    def install(self, profile: Profile, sink: EventSink) -> int:
        self.installed.append(profile)
        plan = self.plan(profile)
        if plan.blockers:  # as installer.session refuses
            raise Refused("; ".join(str(b) for b in plan.blockers))
        events = _ClockedBus(self.clock)
        with install_logs(self.host_path(self.log_dir), events, stamp=self.stamp) as logs:
            events.subscribe(sink)
            events.log(f"dry-run on machine '{self.machine.name}': no disk is written and no command is run; "
                       "each step shows what the plan says it does")
            # The engine's own framing of each step (events, timing, a failure naming the step).
            engine = Engine(plan, self.runner, events, target_root=self.root / "run/azl-installer/target",
                            workdir=self.root / "tmp", host_logs=logs, clock=self.clock)
            try:
                for planned in plan.steps:
                    with engine.step(planned):
                        self._walk(planned, events)
            except InstallFailed:
                return 1
        return 0

    def _walk(self, planned: PlanStep, events: EventBus) -> None:
        details = planned.details or (planned.title,)
        fails = planned.id == self.machine.fail_step
        for number, detail in enumerate(details, start=1):
            time.sleep(self.machine.step_seconds / len(details))
            if fails and number > len(details) // 2:
                raise _DryRunFailure(self.machine.fail_message)
            events.progress(number / len(details), detail)

    # -- what happened -------------------------------------------------------------------------
    def summary(self) -> list[str]:
        """Lines for the terminal when the dry-run ends: what it wrote (under root) and did not run."""
        facts = self.machine.facts
        lines = [f"dry-run on machine '{self.machine.name}' ({facts.firmware}, {format_size(facts.memory)} memory, "
                 f"{len(self.machine.inventory.disks)} disks): no disk was touched"]
        files = sorted(p for p in self.root.rglob("*") if p.is_file())
        lines += [f"  written only in its temporary directory, now removed: /{p.relative_to(self.root)}"
                  for p in files]
        lines += [f"  not run: {shlex.join(call)}" for call in self.runner.calls]
        return lines
