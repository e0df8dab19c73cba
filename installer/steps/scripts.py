"""Running the profile's scripts through the command gateway: what the pre- and post-script steps share."""

from __future__ import annotations

from pathlib import Path

from installer.core.chroot import in_target
from installer.core.events import EventBus
from installer.core.files import append_file, write_private_file
from installer.core.runner import Arg, Runner
from profiles.model import ANACONDA_ROOT, Script


def script_names(scripts: tuple[Script, ...], phase: str) -> tuple[str, ...]:
    return tuple(s.name or f"{phase} script {i} ({s.interpreter})" for i, s in enumerate(scripts, start=1))


def run_scripts(scripts: tuple[Script, ...], phase: str, runner: Runner, events: EventBus,
                *, target: Path | None, workdir: Path) -> None:
    for index, script in enumerate(scripts, start=1):
        name = script.name or f"{phase} script {index}"
        events.progress((index - 1) / len(scripts), f"running {name}")
        in_chroot = target is not None and script.chroot
        argv: list[Arg]
        if target is not None and in_chroot:
            # Inside the target: the file lives in its /tmp and the path is the chroot's view.
            host_path = target / "tmp" / f"azl-{phase}-{index}"
            host_path.parent.mkdir(mode=0o1777, parents=True, exist_ok=True)
            write_private_file(host_path, script.body)
            argv = in_target(target, [script.interpreter, f"/tmp/{host_path.name}"])
        else:
            host_path = workdir / f"azl-{phase}-{index}"
            write_private_file(host_path, script.body)
            argv = [script.interpreter, host_path]
        # ANA_INSTALL_PATH: the name Anaconda gives the target root, which kickstart scripts use.
        env = {"AZL_TARGET": str(target), "ANA_INSTALL_PATH": str(target)} if target is not None else {}
        output: list[str] = []

        def show(line: str, label: str = name, keep: list[str] = output) -> None:
            keep.append(line)
            events.log(f"{label}: {line}")

        try:
            result = runner.run(argv, env=env, on_line=show, check=script.fail_install, timeout=script.timeout)
        finally:
            host_path.unlink(missing_ok=True)
            if script.log is not None:
                log, into = script.log, target if in_chroot else None
                if target is not None and not in_chroot and log.startswith(ANACONDA_ROOT + "/"):
                    log, into = log.removeprefix(ANACONDA_ROOT), target  # a kickstart's log in Anaconda's target
                _append_log(log, output, into)
        if result.returncode != 0:
            events.log(f"{name} exited with {result.returncode}; going on (fail_install: false)", level="warning")


def _append_log(path: str, lines: list[str], target: Path | None) -> None:
    """The script's output appended to its log file: in the target for chroot scripts, never through a link."""
    text = "".join(line + "\n" for line in lines)
    if target is None:
        with open(path, "a", encoding="utf-8") as log:
            log.write(text)
        return
    append_file(target, path, text)
