"""A stopping signal ends an install as a failure does: the running command's whole process group is stopped,
the step that was running is named, and a second signal cannot cut the teardown short."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from installer.core.events import EventBus
from installer.core.runner import CommandResult, CommandTimeout, RealRunner, Reply
from installer.core.signals import (
    Interrupted,
    begin_teardown,
    request_stop,
    stop_on_signals,
    wait_for_install_end,
)
from installer.engine import InstallFailed
from profiles import ProfileError, profile_from_text
from tests.support.engine import ONE_DISK, recorded_engine


def _gone(pid: int, within: float = 5.0) -> bool:
    """Ended (no such process, or a zombie waiting for whoever adopted it) within a few seconds: a killed
    process needs a moment of CPU to die, which a loaded machine may not give it at once."""
    deadline = time.monotonic() + within
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _signal_later(number: int, seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), number))
    timer.start()
    return timer


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_stops_the_command_and_what_it_started(tmp_path: Path, number: int) -> None:
    pidfile = tmp_path / "child.pid"
    runner = RealRunner(EventBus())
    started = time.monotonic()
    _signal_later(number, 0.5)
    with pytest.raises(Interrupted) as caught, stop_on_signals():
        # A command that starts a child of its own (as dnf starts rpm scriptlets) and waits.
        runner.run(["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"])
    assert caught.value.exit_code == 128 + number and caught.value.name == signal.Signals(number).name
    assert time.monotonic() - started < 15  # the group ended on SIGTERM (or SIGKILL after the grace period)
    assert _gone(int(pidfile.read_text()))
    assert signal.getsignal(number) is not None  # the previous handler is back


def test_a_second_signal_does_not_cut_the_teardown_short() -> None:
    finished = []
    with pytest.raises(Interrupted), stop_on_signals():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the signal arrives here
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # while "tearing down": ignored
            time.sleep(0.1)
            finished.append("teardown")
    assert finished == ["teardown"]


PROFILE = ONE_DISK + """\
bootloader: {enabled: false}
scripts:
  on_error: [{name: report, body: 'echo failed'}]
"""


def test_the_engine_names_the_step_skips_the_on_error_scripts_and_tears_down(tmp_path: Path) -> None:
    profile = PROFILE
    engine, runner, seen, root, _ = recorded_engine(tmp_path, profile)

    def stop(args: tuple[str, ...]) -> None:
        raise Interrupted(signal.SIGTERM)

    runner.reply(["dnf"], Reply(effect=stop))
    with pytest.raises(InstallFailed) as caught:
        engine.run()
    assert caught.value.step == "payload" and caught.value.stopped is not None
    assert caught.value.message == "stopped by SIGTERM"
    failed = [e for e in seen if e.kind == "step-failed"]
    assert [(e.step, e.message) for e in failed] == [("payload", "stopped by SIGTERM")]
    assert any("on-error scripts not run: the install was stopped by SIGTERM" in e.message for e in seen)
    assert not any("azl-on-error-" in " ".join(c) for c in runner.calls)  # no on-error script was run
    assert runner.calls[-1][0] == "umount"  # the teardown ran


def test_a_command_past_its_time_limit_is_stopped_with_what_it_started(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    started = time.monotonic()
    with pytest.raises(CommandTimeout) as caught:
        RealRunner(EventBus()).run(["sh", "-c", f"sleep 60 & echo $! > {pidfile}; echo waiting; wait"], timeout=1)
    assert time.monotonic() - started < 15
    assert str(caught.value).startswith("command did not finish within 1 s and was stopped: sh -c ")
    assert caught.value.result.output == "waiting\n"
    assert _gone(int(pidfile.read_text()))


def test_a_hanging_post_script_fails_the_install_in_its_step_and_the_profile_gives_the_limit(tmp_path: Path) -> None:
    hanging = "  post: [{name: hangs, body: 'sleep 1000', timeout: 30}]\n"
    engine, runner, _, _, _ = recorded_engine(tmp_path, PROFILE.replace(
        "  on_error: [{name: report, body: 'echo failed'}]\n", hanging))

    def hang(args: tuple[str, ...]) -> None:
        if any("azl-post-1" in a for a in args):  # what RealRunner raises once the limit is over
            raise CommandTimeout(CommandResult(args, -15, ""), runner.timeouts[args])

    runner.reply([], Reply(effect=hang))
    with pytest.raises(InstallFailed) as caught:
        engine.run()
    assert caught.value.step == "post-scripts" and "did not finish within 30 s and was stopped" in caught.value.message
    with pytest.raises(ProfileError) as bad:
        profile_from_text("storage: {disks: [{path: /dev/vda}]}\nscripts: {post: [{body: x, timeout: 0}]}\n")
    assert "scripts.post[0].timeout: timeout is in seconds, from 1 to a week" in str(bad.value)


def test_a_command_ends_when_the_installer_is_killed(tmp_path: Path) -> None:
    """SIGKILL cannot be passed on: the kernel sends the command SIGTERM when the installer dies (PDEATHSIG)."""
    pidfile = tmp_path / "command.pid"
    program = ("from installer.core.events import EventBus\nfrom installer.core.runner import RealRunner\n"
               f"RealRunner(EventBus()).run(['sh', '-c', 'echo $$ > {pidfile}; exec sleep 60'])\n")
    installer = subprocess.Popen([sys.executable, "-c", program], cwd=Path(__file__).parents[2])
    try:
        deadline = time.monotonic() + 30
        while not pidfile.exists() or not pidfile.read_text().strip():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        installer.kill()
        installer.wait(timeout=30)
        # The kernel's SIGTERM comes at once; on a loaded machine (seen under `make test-fast` beside a QEMU
        # guest) the command may take seconds of waiting for a CPU before it has ended.
        assert _gone(int(pidfile.read_text()), within=30)
    finally:
        if installer.poll() is None:
            installer.kill()


def _in_worker(body: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    """body under stop_on_signals() in a thread of its own, as the Textual UI runs an install."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            with stop_on_signals():
                body()
        except BaseException as err:  # handed to the test thread, which asserts on it
            raised.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, raised


def test_an_install_in_a_worker_thread_is_stopped_through_the_main_threads_handler(tmp_path: Path) -> None:
    """Only the main thread receives signals: request_stop() stops the worker's command by process group and the
    runner raises Interrupted in the worker; the teardown's commands after it run to the end."""
    pidfile, torn_down = tmp_path / "child.pid", tmp_path / "teardown"
    runner = RealRunner(EventBus())
    assert not request_stop(signal.SIGTERM)  # no install runs: the front end simply exits

    def install() -> None:
        try:
            runner.run(["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"])
        finally:
            begin_teardown()
            request_stop(signal.SIGTERM)  # a second signal while tearing down changes nothing
            runner.run(["sh", "-c", f"sleep 0.5; touch {torn_down}"])

    thread, raised = _in_worker(install)
    deadline = time.monotonic() + 10
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert request_stop(signal.SIGHUP)
    thread.join(timeout=20)
    assert not thread.is_alive() and wait_for_install_end(0)
    assert [type(e) for e in raised] == [Interrupted] and isinstance(raised[0], Interrupted)
    assert raised[0].exit_code == 129
    assert _gone(int(pidfile.read_text()))
    assert torn_down.exists()


def test_a_stop_asked_between_two_commands_comes_at_the_next_one() -> None:
    runner = RealRunner(EventBus())
    ran: list[str] = []

    def install() -> None:
        runner.run(["true"])
        assert request_stop(signal.SIGTERM)  # as if the handler ran now, with no command running
        ran.append("python work goes on")
        runner.run(["true"])  # raises once the command returns
        ran.append("not reached")

    thread, raised = _in_worker(install)
    thread.join(timeout=20)
    assert ran == ["python work goes on"] and [type(e) for e in raised] == [Interrupted]
    assert not request_stop(signal.SIGTERM)  # it has ended


def test_an_engine_in_another_thread_neither_marks_the_teardown_nor_is_stopped(tmp_path: Path) -> None:
    """A dry-run's or a test's engine ending beside the install (begin_teardown in its own thread) must not turn
    the install's stop off, and its commands are not the install's to stop."""
    pidfile = tmp_path / "child.pid"
    runner = RealRunner(EventBus())
    def install() -> None:
        runner.run(["sh", "-c", f"echo $$ > {pidfile}; exec sleep 60"])

    thread, raised = _in_worker(install)
    deadline = time.monotonic() + 10
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    bystander = threading.Thread(target=begin_teardown)
    bystander.start()
    bystander.join()
    other = runner.run(["true"])  # this thread's command: not the install's, not stopped, no Interrupted
    assert other.returncode == 0
    assert request_stop(signal.SIGTERM)
    thread.join(timeout=20)
    assert not thread.is_alive() and [type(e) for e in raised] == [Interrupted]
