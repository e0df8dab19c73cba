"""One install session: from a profile to a finished target, wiring runner, events and logs.

The CLI calls plan_only() and install(); the interactive front ends reach the same functions
through installer.api (SessionAPI), so every install takes one code path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from installer import report
from installer.core.events import EventBus, EventSink, HumanLogReporter, JsonLinesReporter
from installer.core.locks import TargetLocked, locked_targets
from installer.core.runner import RealRunner, Runner
from installer.core.signals import STOPPING_SIGNALS as STOPPING_SIGNALS  # the CLI's handlers after an install
from installer.core.signals import Interrupted, begin_teardown, stop_on_signals
from installer.engine import Engine, InstallFailed
from installer.payload import host_dnf
from installer.plan import Plan, PlanError, make_plan
from installer.targetimage import (
    ImageError,
    attached_image,
    image_profile,
    planned_image_inventory,
)
from installer.targetimage import image_path_problem as image_path_problem  # the CLI checks --target-image
from profiles import Profile
from storage.apply import KERNEL_FS
from storage.inventory import Inventory, probe

DEFAULT_LOG_DIR = Path("/var/log/azl-installer")


class Refused(Exception):
    """The install did not start (not confirmed, or the plan has blockers)."""


@dataclass(frozen=True)
class InstallOptions:
    yes: bool = False
    events_file: Path | None = None
    log_dir: Path | None = None
    image: Path | None = None
    image_size: int | None = None
    debug: bool = False
    terminal: bool = True  # echo events to stderr; a UI turns this off and subscribes its own sink


def _proc_filesystems() -> str:
    try:
        return Path("/proc/filesystems").read_text()
    except OSError:
        return ""


def plan_only(profile: Profile, image: Path | None, image_size: int | None) -> Plan:
    """A plan that touches nothing: image mode needs no device, otherwise disks are only read."""
    if image is not None and image_size is not None:
        return make_plan(image_profile(profile, str(image)), planned_image_inventory(image, image_size),
                         kernel_filesystems=_proc_filesystems(), dnf=host_dnf(), host_paths=True)
    runner = RealRunner(EventBus())
    inventory = probe(runner)
    # As install() does: on the live ISO ext4 and vfat are modules nobody has loaded yet, and
    # without this the Review screen listed them as missing kernel features.
    _load_filesystem_modules(make_plan(profile, inventory), runner)
    return make_plan(profile, inventory, kernel_filesystems=_proc_filesystems(), dnf=host_dnf(), host_paths=True)


def _load_filesystem_modules(profile_plan: Plan, runner: Runner) -> None:
    # btrfs and xfs are often modules that are not loaded yet; /proc/filesystems lists
    # only registered ones, so load what the layout needs before the feature check (and
    # dm-crypt before the device-mapper check).
    storage = profile_plan.storage
    needed = {KERNEL_FS[h.filesystem] for h in storage.holders() if h.filesystem in KERNEL_FS}
    enc = profile_plan.profile.encryption
    if enc is not None and enc.enabled:
        needed.add("dm_crypt")  # registers device-mapper too (/proc/misc), which the plan checks
    if storage.groups:
        needed.add("dm_mod")
    needed |= {f"raid{r.level}" if r.level != 10 else "raid10" for r in storage.raids}
    for fs in sorted(needed):
        runner.run(["modprobe", "--quiet", fs], check=False)


def _confirm(plan: Plan, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise Refused("refusing to change disks without confirmation: review 'plan', then add --yes")
    disks = ", ".join(t.disk.path for t in plan.storage.targets)
    print(plan.render(), file=sys.stderr)
    answer = input(f"\nThis ERASES {disks}. Type 'yes' to continue: ")
    if answer.strip() != "yes":
        raise Refused("not confirmed; nothing was changed")


@contextmanager
def install_logs(log_dir: Path, events: EventBus, *, stamp: str | None = None) -> Iterator[list[Path]]:
    """Open the human log (install-STAMP.log) and the JSON-lines log (events-STAMP.jsonl) in log_dir and
    subscribe them to events; yields their paths. The dry-run writes its logs with this too (stamp pinned
    by tests)."""
    try:
        log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        raise Refused(f"cannot create the log directory {log_dir}: {err.strerror}") from None
    stamp = stamp or f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"  # two installs in one second: two logs
    log_path, events_path = log_dir / f"install-{stamp}.log", log_dir / f"events-{stamp}.jsonl"
    with ExitStack() as stack:
        try:
            human = stack.enter_context(open(log_path, "w", encoding="utf-8", opener=_private))
            lines = stack.enter_context(open(events_path, "w", encoding="utf-8", opener=_private))
        except OSError as err:
            raise Refused(f"cannot write the log {err.filename}: {err.strerror}") from None
        events.subscribe(HumanLogReporter(human))
        events.subscribe(JsonLinesReporter(lines))
        yield [log_path, events_path]


def _private(path: str, flags: int) -> int:
    """Logs are the install's own: mode 0600 (they name disks, users and URLs), and never an existing file."""
    return os.open(path, flags | os.O_EXCL, 0o600)


@contextmanager
def _logs(options: InstallOptions, events: EventBus) -> Iterator[list[Path]]:
    """The install logs, plus --events FILE and the terminal as the options ask; yields the logs' paths."""
    with install_logs(options.log_dir or DEFAULT_LOG_DIR, events) as paths, ExitStack() as stack:
        if options.events_file is not None:
            events.subscribe(JsonLinesReporter(stack.enter_context(open(options.events_file, "w",
                                                                        encoding="utf-8"))))
        if options.terminal:
            events.subscribe(HumanLogReporter(sys.stderr, show_debug=options.debug))
        yield paths


AFTER_INSTALL_PREFIX = "azl-installer: after install: "  # the launcher reads this line (iso/launcher.py)
SCRATCH_PREFIX = "azl-installer-"  # then the install's PID: $TMPDIR/azl-installer-PID-XXXXXXXX


def install(profile: Profile, options: InstallOptions, sinks: Sequence[EventSink] = ()) -> int:
    """Plan, confirm (options.yes, or a prompt on a terminal) and run the install.

    Returns the exit code: 0 installed, 1 failed (message printed naming the step and log), 128 + N
    stopped by signal N (SIGTERM, SIGHUP, SIGINT: installer/core/signals.py), after the same teardown.
    Raises Refused (nothing changed) and PlanError for bad input. Extra sinks see every event.
    """
    outcome: list[int] = []  # the engine's exit code, once it has one
    seen = _Seen()
    started = time.time()
    try:
        with stop_on_signals():
            return _install(profile, options, sinks, outcome, seen)
    except Interrupted as stopped:  # outside the engine: what was set up (an attached image) is released
        if outcome:  # the install had ended already; only the last lines were not printed
            print(f"azl-installer: {stopped} after the install ended (exit code {outcome[0]})", file=sys.stderr)
            return outcome[0]
        seen.end("stopped", stopped.exit_code, message=f"{stopped} before the install started")
        print(f"azl-installer: {stopped} before the install started; no disk was written", file=sys.stderr)
        return stopped.exit_code
    except (Refused, PlanError) as err:
        seen.end("refused", 2, message=str(err))
        raise
    except Exception as err:  # an internal error: the CLI says it in one line; the fleet hears of it too
        if seen.ending is None:
            seen.end("failed", 1, message=f"internal error: {err}")
        raise
    finally:
        # After the teardown and with the logs closed (the bundle holds all of them). A signal now finds the
        # CLI's quiet handlers; sending is bounded in time (installer/report.py).
        if seen.ending is not None:
            try:
                report.send(profile, seen.ending, started, _say)
            except Exception as err:  # the install's own outcome stands whatever the report does
                _say(f"azl-installer: the result was not sent: {err}")


def _say(line: str) -> None:
    print(line, file=sys.stderr)


@dataclass
class _Seen:
    """What the report of an install needs, filled in as the install gets that far."""

    log: Path | None = None
    plan: Plan | None = None
    ending: report.Ending | None = None

    def end(self, result: report.Result, exit_code: int, step: str | None = None, message: str | None = None) -> None:
        self.ending = report.Ending(result, exit_code, step, message, self.log, self.plan)


def _install(profile: Profile, options: InstallOptions, sinks: Sequence[EventSink], outcome: list[int],
             seen: _Seen) -> int:
    events = EventBus(*sinks)
    runner = RealRunner(events)
    with _logs(options, events) as logs, ExitStack() as stack:
        seen.log = logs[0]
        if options.image is not None:
            # Plan and confirm before the image exists: a bad profile creates and attaches nothing.
            size = options.image_size or 0
            preview = _checked_plan(image_profile(profile, str(options.image)),
                                    planned_image_inventory(options.image, size), runner)
            _confirm(preview, options.yes)
            _lock(stack, [options.image])
            try:
                device = stack.enter_context(attached_image(options.image, size, runner, events))
            except ImageError as err:
                raise Refused(str(err)) from None
            plan = make_plan(image_profile(profile, device), probe(runner, only=[device]), dnf=host_dnf())
        else:
            plan = _checked_plan(profile, probe(runner), runner)
            _confirm(plan, options.yes)
            _lock(stack, [t.disk.path for t in plan.storage.targets])
        # The PID in the name: a killed install's scratch directory is found and removed by the next install.
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")))
        target = Path(f"/run/azl-installer/target-{os.getpid()}")
        _remove_stale_targets(target.parent)
        _remove_stale_scratch(workdir.parent)
        target.mkdir(parents=True, exist_ok=True)
        seen.plan = plan
        engine = Engine(plan, runner, events, target_root=target, workdir=workdir, host_logs=logs)
        try:
            engine.run()
            outcome.append(0)
            seen.end("installed", 0)
        except InstallFailed as err:
            outcome.append(err.stopped.exit_code if err.stopped is not None else 1)
            seen.end("failed" if err.stopped is None else "stopped", outcome[0], err.step,
                     err.message if err.stopped is None else str(err.stopped))
            if err.stopped is not None:
                print(f"azl-installer: install {err.stopped} in step '{err.step}'; what it had set up was taken "
                      f"down\nazl-installer: full log: {logs[0]}", file=sys.stderr)
                return err.stopped.exit_code
            print(f"azl-installer: install failed in step '{err.step}': {err.message}\n"
                  f"azl-installer: full log: {logs[0]}", file=sys.stderr)
            return 1
        except Interrupted as stopped:  # between two steps: the engine has taken everything down
            outcome.append(stopped.exit_code)
            seen.end("stopped", stopped.exit_code, message=f"{stopped} between two steps")
            print(f"azl-installer: install {stopped} between two steps; what it had set up was taken down\n"
                  f"azl-installer: full log: {logs[0]}", file=sys.stderr)
            return stopped.exit_code
        finally:
            # Runs first (the engine marked it already, unless it never started): from here to the end of the
            # program no signal interrupts the rest of the teardown (scratch files, the image's detach, the
            # locks); the next install's start clears the mark.
            stack.callback(begin_teardown)
            if not engine.mounts.mounted:
                target.rmdir()
        where = f"disk image {options.image}" if options.image else ", ".join(
            t.disk.path for t in plan.storage.targets)
        print(f"azl-installer: installed onto {where}; log: {logs[0]}", file=sys.stderr)
        if profile.after_install is not None:
            # Only the ISO's launcher acts on it: an install never stops the machine it runs on.
            print(f"{AFTER_INSTALL_PREFIX}{profile.after_install}", file=sys.stderr)
        return 0


def _remove_stale_targets(runtime: Path) -> None:
    """The empty target directories of installs that were killed (SIGKILL leaves them): their process is gone
    and nothing is mounted there any more (the release took that down). Only empty directories go."""
    for stale in runtime.glob("target-*"):
        pid = stale.name.removeprefix("target-")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists() and not os.path.ismount(stale):
            with contextlib.suppress(OSError):  # not empty, or gone meanwhile: left as it is
                stale.rmdir()


def _remove_stale_scratch(tmp: Path) -> None:
    """The scratch directories (dnf's config, cache and downloaded packages) of installs that were killed:
    their process is gone. One with anything mounted below it is left alone."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines() if line.strip()]
    for stale in tmp.glob(f"{SCRATCH_PREFIX}*-*"):
        pid = stale.name.removeprefix(SCRATCH_PREFIX).partition("-")[0]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists() or not stale.is_dir() or stale.is_symlink():
            continue
        if any(m == str(stale) or m.startswith(f"{stale}/") for m in mounts):
            continue
        shutil.rmtree(stale, ignore_errors=True)


def _lock(stack: ExitStack, targets: Sequence[str | Path]) -> None:
    """One install per disk or image, until this one has torn down (installer/core/locks.py)."""
    try:
        stack.enter_context(locked_targets(targets))
    except TargetLocked as err:
        raise Refused(str(err)) from None


def _checked_plan(profile: Profile, inventory: Inventory, runner: Runner) -> Plan:
    plan = make_plan(profile, inventory)
    _load_filesystem_modules(plan, runner)
    plan = make_plan(profile, inventory, kernel_filesystems=_proc_filesystems(), dnf=host_dnf(), host_paths=True)
    if plan.blockers:
        raise Refused("; ".join(str(b) for b in plan.blockers))
    return plan
