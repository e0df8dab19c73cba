"""Stopping an install from outside: SIGTERM (kill, systemd stop), SIGHUP (a dropped SSH session) and SIGINT.

While an install runs, each of them raises Interrupted in the main thread, wherever it is: in a
step, the engine turns it into that step's failure, so the install ends as a failed one does (its
final event, one line naming the step, the on-error scripts, the teardown). The command running at
that moment is stopped with its whole process group first (RealRunner: dnf and the rpm scriptlets
it started, not only dnf). A second signal while the install is already stopping is ignored, so the
teardown (unmount, close LUKS and LVM, detach the image) always completes; SIGKILL cannot be caught,
and what it leaves behind the next install releases (storage/release.py).

The exit code of a stopped install is 128 + the signal's number, as a shell reports it: 130 SIGINT,
129 SIGHUP, 143 SIGTERM.

An install in another thread (the Textual UI runs it in a worker; only the main thread receives
signals) is stopped through request_stop(), which the main thread's handler calls: it stops the
commands running at that moment, by process group, and the install's runner raises Interrupted in
the install's own thread when that command returns (stop_requested(); the engine also asks before
each step). The rest is the same: one Interrupted, then the teardown, which later signals do not
interrupt.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOPPING_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class Interrupted(Exception):
    """The install was asked to stop by a signal."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"stopped by {self.name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class _Worker:
    """The state of an install running outside the main thread, shared with the main thread's handler."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = False
        self.requested: int | None = None  # the signal that asked it to stop
        self.delivered = False  # Interrupted was raised once: the teardown that follows is not interrupted
        self.groups: set[int] = set()  # process groups of the commands it runs now
        self.teardown = False  # the install is taking down what it set up: signals then change nothing
        # The thread the install runs in (under stop_on_signals). Only its commands and its engine take part:
        # an engine run elsewhere (a dry-run's, a test's) neither marks the teardown nor gets Interrupted.
        self.owner: int | None = None
        self.idle = threading.Event()
        self.idle.set()


_worker = _Worker()


def request_stop(signum: int) -> bool:
    """Called by the main thread's signal handler: stop the install running in another thread. Returns False
    when none runs (the caller then simply ends). A second request while it stops changes nothing."""
    with _worker.lock:
        if not _worker.active:
            return False
        if _worker.requested is not None or _worker.teardown:
            return True  # stopping already, or ending anyway: the teardown's commands must finish
        _worker.requested = signum
        groups = list(_worker.groups)
    for group in groups:  # the command returns, and the runner raises Interrupted in the install's thread
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
    return True


def stop_requested() -> None:
    """Raise Interrupted in the install's thread, once, if request_stop() was called (the runner asks after
    each command, the engine before each step). In the main thread the handler has raised it already."""
    with _worker.lock:
        if _worker.requested is None or _worker.delivered or _worker.teardown or not _owned():
            return
        _worker.delivered = True
        signum = _worker.requested
    raise Interrupted(signum)


@contextmanager
def command_group(pid: int) -> Iterator[None]:
    """While a command runs: its process group (it leads its own) is stopped by request_stop()."""
    with _worker.lock:
        owned = _owned()
        if owned:
            _worker.groups.add(pid)
        late = owned and _worker.active and _worker.requested is not None and not _worker.delivered
    if not owned:  # another thread's command (a dry-run's, a test's): no stop of this install's touches it
        yield
        return
    if late:  # the stop came while this command was being started
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    try:
        yield
    finally:
        with _worker.lock:
            _worker.groups.discard(pid)


def begin_teardown() -> None:
    """From here on, a stopping signal changes nothing: the install is taking down what it set up (unmount,
    close LUKS and LVM, detach the image, remove its scratch files), and a command stopped half-way would leave
    some of it behind. The engine marks it when its steps end, however they end, and the session again for
    its own part; the mark lasts to the end of the program, and the next install starts without it."""
    with _worker.lock:
        if _owned():
            _worker.teardown = True


def _owned() -> bool:
    """Is this the install's thread? (Called with the lock held.)"""
    return _worker.owner == threading.get_ident()


def wait_for_install_end(timeout: float | None = None) -> bool:
    """For a front end about to exit: wait until an install running in another thread has ended (its teardown
    done). True when none runs any more."""
    return _worker.idle.wait(timeout)


@contextmanager
def _stop_on_request() -> Iterator[None]:
    with _worker.lock:
        _worker.active, _worker.requested, _worker.delivered, _worker.teardown = True, None, False, False
        _worker.owner = threading.get_ident()
        _worker.idle.clear()
    try:
        yield
    finally:
        with _worker.lock:
            _worker.active, _worker.owner = False, None
            _worker.idle.set()


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Raise Interrupted on the first stopping signal while the block runs; ignore later ones (the teardown
    must finish). Outside the main thread (an install a UI started in a worker) signals cannot be caught
    there: the main thread's handler asks through request_stop() instead."""
    if threading.current_thread() is not threading.main_thread():
        with _stop_on_request():
            yield
        return
    stopping = False

    def handler(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping or _worker.teardown:
            return  # already ending: let the teardown finish
        stopping = True
        raise Interrupted(signum)

    with _worker.lock:
        _worker.owner, _worker.teardown = threading.get_ident(), False
    previous = {number: signal.signal(number, handler) for number in STOPPING_SIGNALS}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
        with _worker.lock:
            _worker.owner = None
