"""The one gateway through which the installer runs external commands.

Every command is an argv list, runs with a clean environment, and is logged in a form that
can be pasted into a shell. Steps receive a Runner; tests swap in RecordingRunner, so the
choice between real and recorded behaviour is made once, not in every step.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shlex
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from installer.core.events import EventBus
from installer.core.signals import command_group, stop_requested

Arg = str | os.PathLike[str]
LineCallback = Callable[[str], None]

# Only these variables pass from the installer's environment to the commands it runs,
# so that a user's shell settings (LD_PRELOAD, PYTHONPATH, DNF vars) cannot change them.
_PASSED_ENV = ("PATH", "TERM", "TZ", "LIBBLOCKDEV_CONFIG_DIR")
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
STOP_GRACE_SECONDS = 10.0  # how long a stopped command may take to end on SIGTERM before SIGKILL


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    output: str  # stdout and stderr, interleaved as the command wrote them


class CommandError(Exception):
    """A command exited non-zero; the message holds the copy-pasteable command line."""

    def __init__(self, result: CommandResult) -> None:
        self.result = result
        tail = "\n".join(result.output.strip().splitlines()[-15:])
        super().__init__(
            f"command failed with exit code {result.returncode}: {shlex.join(result.argv)}"
            + (f"\n{tail}" if tail else "")
        )


class CommandTimeout(CommandError):
    """A command ran past its time limit and was stopped, with everything it had started."""

    def __init__(self, result: CommandResult, timeout: float) -> None:
        super().__init__(result)
        self.args = (f"command did not finish within {timeout:g} s and was stopped: {shlex.join(result.argv)}",)

    def __str__(self) -> str:
        return str(self.args[0])


class Runner(Protocol):
    def run(
        self,
        argv: Sequence[Arg],
        *,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        stdin_text: str | None = None,
        on_line: LineCallback | None = None,
        timeout: float | None = None,
    ) -> CommandResult: ...


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
    env.setdefault("PATH", _DEFAULT_PATH)
    env["LC_ALL"] = "C.UTF-8"
    env.update(extra or {})
    return env


class RealRunner:
    """Runs commands for real, logging each to the event bus before it starts."""

    def __init__(self, events: EventBus) -> None:
        self._events = events

    def run(
        self,
        argv: Sequence[Arg],
        *,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        stdin_text: str | None = None,
        on_line: LineCallback | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        args = tuple(os.fspath(a) for a in argv)
        self._events.log("$ " + shlex.join(args), level="debug")
        lines: list[str] = []
        try:
            proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=clean_environment(env),
                text=True,
                errors="replace",
                # Its own process group: when the install is stopped, the command and everything it started
                # (dnf's rpm scriptlets) are stopped together, and a terminal's Ctrl+C reaches only the
                # installer, which stops them in order.
                process_group=0,
                preexec_fn=_end_with_installer,
            )
        except FileNotFoundError:
            result = CommandResult(args, 127, f"{args[0]}: command not found")
            if check:
                raise CommandError(result) from None
            return result
        expired = threading.Event()

        def expire() -> None:  # in the timer's thread: the loop below then reads to the end and returns
            expired.set()
            stop_process_group(proc)

        timer = threading.Timer(timeout, expire) if timeout else None
        try:
            if timer is not None:
                timer.daemon = True
                timer.start()
            with command_group(proc.pid):
                if stdin_text is not None and proc.stdin is not None:
                    proc.stdin.write(stdin_text)
                    proc.stdin.close()
                assert proc.stdout is not None
                for line in proc.stdout:
                    lines.append(line)
                    if on_line is not None:
                        on_line(line.rstrip("\n"))
                returncode = proc.wait()
            stop_requested()  # an install in a UI's worker thread, asked to stop while this command ran
        except BaseException:  # stopped (a signal), or the caller failed: the command must not live on
            stop_process_group(proc)
            self._events.log(f"stopped: {shlex.join(args)}", level="warning")
            raise
        finally:
            if timer is not None:
                timer.cancel()
        result = CommandResult(args, returncode, "".join(lines))
        if expired.is_set():
            assert timeout is not None
            raise CommandTimeout(result, timeout)
        if check and returncode != 0:
            raise CommandError(result)
        return result


_PR_SET_PDEATHSIG = 1
# Resolved here, once: the child may only call it (loading a library after fork, while another thread of the
# installer, such as the UI's, held the loader's lock, could hang the child).
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl


def _end_with_installer() -> None:  # in the child, between fork and exec
    """SIGTERM to the command when the installer dies, even by SIGKILL (which it cannot pass on): a killed
    install's dnf must not go on writing into a target the next install is about to release."""
    _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def stop_process_group(proc: subprocess.Popen[str], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM to the command's process group, then SIGKILL to whatever of it is left once the command has
    ended or the grace period is over; waits for the command."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # what did not end on SIGTERM (or outlived its parent)
    proc.wait()


@dataclass
class Reply:
    """What a RecordingRunner answers for a matched command."""

    returncode: int = 0
    output: str = ""
    effect: Callable[[tuple[str, ...]], None] | None = None  # e.g. create a file


@dataclass
class RecordingRunner:
    """Records every command instead of running it. Replies are matched by argv prefix."""

    replies: dict[tuple[str, ...], Reply] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    timeouts: dict[tuple[str, ...], float] = field(default_factory=dict)  # the limits commands were given

    def reply(self, prefix: Sequence[str], reply: Reply) -> None:
        self.replies[tuple(prefix)] = reply

    def run(
        self,
        argv: Sequence[Arg],
        *,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        stdin_text: str | None = None,
        on_line: LineCallback | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        args = tuple(os.fspath(a) for a in argv)
        self.calls.append(args)
        if timeout is not None:
            self.timeouts[args] = timeout
        reply = Reply()
        best = -1
        for prefix, candidate in self.replies.items():
            if args[: len(prefix)] == prefix and len(prefix) > best:
                reply, best = candidate, len(prefix)
        if reply.effect is not None:
            reply.effect(args)
        if on_line is not None:
            for line in reply.output.splitlines():
                on_line(line)
        result = CommandResult(args, reply.returncode, reply.output)
        if check and reply.returncode != 0:
            raise CommandError(result)
        return result

    def commands(self) -> list[str]:
        """The recorded commands as shell lines, for readable assertions."""
        return [shlex.join(c) for c in self.calls]

