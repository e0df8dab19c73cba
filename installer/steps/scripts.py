"""Running the profile's scripts through the command gateway: what the pre- and post-script steps share."""

from __future__ import annotations

from pathlib import Path

from installer.core.chroot import in_target
from installer.core.events import EventBus
from installer.core.files import write_private_file
from installer.core.runner import Arg, Runner
from profiles.model import Script


def script_names(scripts: tuple[Script, ...], phase: str) -> tuple[str, ...]:
    return tuple(s.name or f"{phase} script {i} ({s.interpreter})" for i, s in enumerate(scripts, start=1))


def run_scripts(scripts: tuple[Script, ...], phase: str, runner: Runner, events: EventBus,
                *, target: Path | None, workdir: Path) -> None:
    for index, script in enumerate(scripts, start=1):
        name = script.name or f"{phase} script {index}"
        events.progress((index - 1) / len(scripts), f"running {name}")
        argv: list[Arg]
        if target is not None and script.chroot:
            # Inside the target: the file lives in its /tmp and the path is the chroot's view.
            host_path = target / "tmp" / f"azl-{phase}-{index}"
            host_path.parent.mkdir(mode=0o1777, parents=True, exist_ok=True)
            write_private_file(host_path, script.body)
            argv = in_target(target, [script.interpreter, f"/tmp/{host_path.name}"])
        else:
            host_path = workdir / f"azl-{phase}-{index}"
            write_private_file(host_path, script.body)
            argv = [script.interpreter, host_path]
        env = {"AZL_TARGET": str(target)} if target is not None else {}

        def show(line: str, label: str = name) -> None:
            events.log(f"{label}: {line}")

        try:
            runner.run(argv, env=env, on_line=show)
        finally:
            host_path.unlink(missing_ok=True)
