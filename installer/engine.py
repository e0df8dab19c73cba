"""The engine: runs a confirmed Plan step by step, reporting structured events.

It walks the plan's steps (the registry's, as the plan chose them) against one InstallContext.
Each step is timed and wrapped in started/finished events; a failure names the step. However the
install ends, the teardown runs: the target is unmounted and its encrypted volumes closed before
the error leaves the engine (and key material is wiped by what the steps pushed on ctx.cleanup).
A stopping signal (installer/core/signals.py) is a failure of the step it arrived in, without the
on-error scripts: a stop request is not the moment to start more work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

from installer.core.events import Event, EventBus
from installer.core.runner import Runner
from installer.core.signals import Interrupted, begin_teardown, stop_requested
from installer.plan import Plan, PlanStep
from installer.steps import InstallContext
from installer.steps.finish import unmount
from installer.steps.scripts import run_scripts
from storage.apply import MountTable


class InstallFailed(Exception):
    def __init__(self, step: str, message: str, *, stopped: Interrupted | None = None) -> None:
        super().__init__(f"step '{step}' failed: {message}")
        self.step = step
        self.message = message
        self.stopped = stopped  # the signal that stopped the install, if that is how it ended


class Engine:
    def __init__(self, plan: Plan, runner: Runner, events: EventBus, *, target_root: Path, workdir: Path,
                 host_logs: list[Path], clock: Callable[[], float] = time.monotonic) -> None:
        self.plan = plan
        self.clock = clock  # times each step; a dry-run passes its pinned clock so screens repeat exactly
        self.runner = runner
        self.events = events
        self.root = target_root
        self.workdir = workdir
        self.host_logs = host_logs  # copied into the target at the end
        self.mounts = MountTable(target_root)

    def run(self) -> None:
        if self.plan.blockers:  # the front ends refuse such a plan first; the engine does not rely on that alone
            message = "the plan has blockers, nothing was done: " + "; ".join(str(b) for b in self.plan.blockers)
            self.events.emit(Event("step-failed", message, step="plan", level="error"))
            raise InstallFailed("plan", message)
        with ExitStack() as cleanup:
            ctx = InstallContext(profile=self.plan.profile, storage=self.plan.storage, runner=self.runner,
                                 events=self.events, root=self.root, workdir=self.workdir,
                                 plan_text=self.plan.render(), host_logs=self.host_logs, cleanup=cleanup,
                                 mounts=self.mounts)
            # Registered first, so it runs last: after a failure, never leave the target mounted or open.
            cleanup.callback(unmount, ctx)  # (after the finish step it finds nothing left to do)
            try:
                for planned in self.plan.steps:
                    with self.step(planned):
                        assert planned.step is not None, "a plan made by make_plan carries its steps"
                        stop_requested()  # asked to stop between two steps (an install in a UI's worker thread)
                        planned.step.run(ctx)
            except InstallFailed as failed:
                if failed.stopped is None:
                    self.on_error(ctx)  # before the teardown: the target is still mounted for the scripts to read
                elif self.plan.profile.scripts.on_error:
                    self.events.log(f"on-error scripts not run: the install was {failed.stopped}", level="warning")
                raise
            finally:
                # Runs first: no signal interrupts the teardown below, nor what the caller still tears down
                # after it (installer/core/signals.py: the mark lasts until the next install starts).
                cleanup.callback(begin_teardown)

    def on_error(self, ctx: InstallContext) -> None:
        """The profile's on-error scripts (kickstart's %onerror); their own failures are only logged."""
        scripts = self.plan.profile.scripts.on_error
        if not scripts:
            return
        self.events.current_step = "on-error-scripts"
        try:
            run_scripts(tuple(replace(s, chroot=False) for s in scripts), "on-error", self.runner, self.events,
                        target=self.root, workdir=self.workdir)
        except Exception as err:
            self.events.log(f"an on-error script failed: {_one_line(err)}", level="error")
        finally:
            self.events.current_step = None

    @contextmanager
    def step(self, planned: PlanStep) -> Iterator[None]:
        doing = planned.step.doing if planned.step is not None else planned.title
        self.events.current_step = planned.id
        self.events.emit(Event("step-started", doing, step=planned.id))
        started = self.clock()
        try:
            yield
        except Exception as err:  # every failure becomes one message naming the step (a signal too)
            message = _one_line(err)
            self.events.emit(Event("step-failed", message, step=planned.id, level="error"))
            raise InstallFailed(planned.id, message, stopped=err if isinstance(err, Interrupted) else None) from err
        finally:
            self.events.current_step = None
        self.events.emit(Event("step-finished", f"{doing} ({self.clock() - started:.1f} s)", step=planned.id))


def _one_line(err: BaseException) -> str:
    return str(err) or type(err).__name__
