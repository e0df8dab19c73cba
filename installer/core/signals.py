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
"""

from __future__ import annotations

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


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Raise Interrupted on the first stopping signal while the block runs; ignore later ones (the teardown
    must finish). Outside the main thread (an install a UI started in a worker) signals cannot be caught:
    nothing changes there."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping = False

    def handler(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            return  # already ending: let the teardown finish
        stopping = True
        raise Interrupted(signum)

    previous = {number: signal.signal(number, handler) for number in STOPPING_SIGNALS}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
