"""The payload step: put the operating system into the mounted target root.

A root filesystem image, if given, is unpacked first; dnf then installs the environment,
groups and packages on top of it (or into the empty root) in a single transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from installer.core.events import EventBus
from installer.core.runner import Runner
from installer.payload.dnf import PayloadError, ProgressFn, describe_repository, host_dnf, run_dnf
from installer.payload.image import guess_format, unpack_image
from profiles.model import Payload

__all__ = ["PayloadError", "describe_payload", "host_dnf", "install_payload", "missing_local_sources"]

# Share of the step's progress bar the image takes when dnf runs after it.
_IMAGE_SHARE = 0.3


def _has_dnf_work(payload: Payload) -> bool:
    return bool(payload.environment or payload.groups or payload.packages)


def _scaled(events: EventBus, start: float, end: float) -> ProgressFn:
    def report(fraction: float, message: str) -> None:
        events.progress(start + (end - start) * fraction, message)

    return report


def install_payload(payload: Payload, root: Path, runner: Runner, events: EventBus, workdir: Path) -> None:
    """Install the payload into root. workdir is host-side scratch space for dnf's config and cache."""
    if not root.is_dir():
        raise PayloadError(f"target root {root} is not a directory")
    dnf_work = _has_dnf_work(payload)
    if payload.image is not None:
        unpack_image(payload.image, root, runner, events, _scaled(events, 0.0, _IMAGE_SHARE if dnf_work else 1.0))
    if dnf_work:
        start = _IMAGE_SHARE if payload.image is not None else 0.0
        run_dnf(payload, root, runner, events, workdir, _scaled(events, start, 1.0))
    elif payload.image is None:
        events.log("payload is empty: nothing installed", level="warning")


def describe_payload(payload: Payload, dnf: str | None = None) -> list[str]:
    """Human-readable lines for the install plan; dnf names the installing machine's dnf, if known."""
    lines: list[str] = []
    if payload.image is not None:
        fmt = payload.image.format or guess_format(payload.image.path) or "unknown format"
        lines.append(f"unpack root image {payload.image.path} ({fmt})")
    if _has_dnf_work(payload):
        what: list[str] = []
        if payload.environment:
            what.append(f"environment {payload.environment}")
        if payload.groups:
            what.append("groups " + ", ".join(payload.groups))
        if payload.packages:
            what.append("packages " + ", ".join(payload.packages))
        repos = ", ".join(describe_repository(r) for r in payload.repositories) or "(none configured)"
        line = f"dnf: {', '.join(what)}; from repositories {repos}"
        if payload.exclude:
            line += "; excluding " + ", ".join(payload.exclude)
        if payload.install_weak_deps:
            line += "; with weak dependencies"
        if dnf:
            line += f"; using {dnf}"
        lines.append(line)
    return lines or ["nothing to install: the payload is empty"]


def missing_local_sources(payload: Payload) -> list[tuple[tuple[str | int, ...], str]]:
    """(profile key, message) for each local repository or root image this machine does not have. Checked
    when the plan is made, so that a wrong path is named before any disk is written (dnf would only
    find out in the payload step, after the disks were partitioned)."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    for i, repo in enumerate(payload.repositories):
        source = repo.baseurl or ""
        if "://" in source and not source.startswith("file://"):
            continue  # remote: its problems are dnf's to find, and the payload step names them
        directory = Path(source.removeprefix("file://"))
        if not _holds((directory / "repodata" / "repomd.xml").is_file):
            what = "does not exist" if not _holds(directory.exists) else "has no repodata/repomd.xml (not a repository)"
            found.append((("payload", "repositories", i, "baseurl"), f"repository '{repo.name}': {directory} {what}"))
    if payload.image is not None and not _holds(Path(payload.image.path).is_file):
        found.append((("payload", "image", "path"), f"root image {payload.image.path} does not exist here"))
    return found


def _holds(test: Callable[[], bool]) -> bool:
    """A path's is_file() or exists(): False too for a name no filesystem holds (a part longer than 255 bytes
    makes them raise OSError, where a missing file gives False)."""
    try:
        return test()
    except OSError:
        return False
