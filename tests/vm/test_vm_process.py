"""Stopping QEMU processes (here: stand-in shell processes): timeout, SIGTERM then SIGKILL, signals."""

from __future__ import annotations

import os
import signal
import time

import pytest

from installer.core.events import Event, EventBus
from iso.vm.process import QemuProcess, Terminated, termination_raises


def test_timeout_stops_the_process_with_sigterm() -> None:
    with QemuProcess(["sleep", "30"]) as proc:
        outcome = proc.wait(timeout=0.3)
        assert outcome.timed_out and outcome.returncode is None and outcome.seconds < 5
        assert proc.poll() == -signal.SIGTERM


def test_a_process_ignoring_sigterm_is_killed_after_the_grace_period() -> None:
    events: list[Event] = []
    proc = QemuProcess(["sh", "-c", "trap '' TERM; echo ready; sleep 30"], events=EventBus(events.append))
    proc.start()
    time.sleep(0.3)  # let the shell install its trap
    start = time.monotonic()
    assert proc.stop(grace=0.5) == -signal.SIGKILL
    assert 0.4 < time.monotonic() - start < 5
    messages = [e.message for e in events]
    assert messages[0] == "$ sh -c 'trap '\"'\"''\"'\"' TERM; echo ready; sleep 30'"
    assert any("ignored SIGTERM" in m and e.level == "warning" for m, e in zip(messages, events, strict=True))


def test_leaving_the_block_on_an_exception_stops_the_process() -> None:
    with pytest.raises(KeyboardInterrupt), QemuProcess(["sleep", "30"]) as proc:
        pid = proc.pid
        raise KeyboardInterrupt
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_normal_exit_status_is_reported() -> None:
    with QemuProcess(["sh", "-c", "exit 3"]) as proc:
        outcome = proc.wait(timeout=10)
    assert outcome.returncode == 3 and not outcome.timed_out


def test_sigterm_and_sighup_raise_terminated_only_inside_the_block() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated) as caught, termination_raises():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)
    assert caught.value.signum == signal.SIGTERM and str(caught.value) == "terminated by SIGTERM"
    assert signal.getsignal(signal.SIGTERM) == before
