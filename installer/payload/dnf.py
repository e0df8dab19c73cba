"""Install packages, groups and an environment into the target with one dnf transaction.

dnf runs on the installer system with --installroot. Which dnf that is, is asked once per install
(`dnf5 --version`, then `dnf --version`): dnf5 (Azure Linux 4.0, Fedora 41+, Debian sid) or dnf 4
(Debian 12, the live system today). Each speaks its own dialect (installer/payload/dnf4.py and
dnf5.py); what they are given and what the user reads back are the same. Everything dnf would
otherwise read from the host or the target (repository files, plugins, the rpm database location)
is pinned by a config file and a private HOME in the scratch workdir.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from installer.core.events import EventBus
from installer.core.runner import Runner
from installer.payload.compsrepo import write_comps_repo
from installer.payload.dnf4 import CONFIG as DNF_CONFIG
from installer.payload.dnf4 import Dnf4
from installer.payload.dnf5 import Dnf5
from installer.payload.dnfbase import (
    COMPS_REPO_ID,
    RPM_DBPATH,
    Dialect,
    DnfOutput,
    DnfSetup,
    PayloadError,
    ProgressFn,
    package_name,
    repo_url,
)
from profiles.model import Payload, Repository

__all__ = [
    "COMPS_REPO_ID", "DNF_CONFIG", "RPM_DBPATH", "DnfOutput", "DnfSetup", "PayloadError", "ProgressFn",
    "comps_path", "describe_repository", "detect_dialect", "host_dnf", "package_name", "prepare", "repo_url",
    "run_dnf",
]  # fmt: skip

# `dnf5 --version` (and `dnf --version` where dnf is dnf5) starts "dnf5 version 5.2.18.0".
_DNF5_VERSION = re.compile(r"^dnf5 version (\S+)", re.MULTILINE)
_NOT_FOUND = 127  # the runner's exit code for a program that is not there (and the shell's)


def comps_path() -> Path:
    resource = resources.files("installer") / "data" / "azurelinux-comps.xml"
    return Path(str(resource))


def needs_comps(payload: Payload) -> bool:
    return bool(payload.environment or payload.groups)


def detect_dialect(runner: Runner) -> Dialect:
    """The dnf of the system the installer runs on: dnf5 if it has the dnf5 program, else dnf 4. Asked
    through the runner, so that it is the system the runner runs commands on.

    `dnf5 --version` answers in milliseconds. `dnf --version` is not asked: dnf 4 imports all of itself
    first (0.3 s, a third of a small payload's whole transaction), and every system whose `dnf` is dnf5
    (Azure Linux 4.0, Fedora 41+) has the dnf5 program too; Debian's dnf5 package has only dnf5."""
    probe = runner.run(["dnf5", "--version"], check=False)
    if probe.returncode == 0 and (match := _DNF5_VERSION.search(probe.output)):
        return Dnf5("dnf5", match.group(1))
    return Dnf4("dnf")


def host_dnf() -> str | None:
    """Which dnf this machine would use, from PATH alone (no process runs): for the plan's text.
    None when it has no dnf at all."""
    if shutil.which("dnf5"):
        return Dnf5.name
    dnf = shutil.which("dnf")
    if dnf is None:
        return None
    return Dnf5.name if Path(dnf).resolve().name.startswith("dnf5") else Dnf4.name


def prepare(payload: Payload, workdir: Path, dialect: Dialect | None = None) -> DnfSetup:
    """Write dnf's config and HOME, and the comps repository when groups are wanted."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "dnf.conf"
    config.write_text((dialect or Dnf4("dnf")).config)
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    macros = f"%_dbpath {RPM_DBPATH}\n"
    if payload.languages is not None:
        # rpm (inside dnf) reads ~/.rpmmacros: only these translations are unpacked, as Anaconda's --instLangs.
        macros += f"%_install_langs {install_langs(payload.languages)}\n"
    (home / ".rpmmacros").write_text(macros)
    comps_repo = write_comps_repo(comps_path(), workdir / "comps-repo") if needs_comps(payload) else None
    return DnfSetup(config=config, home=home, cachedir=workdir / "dnf-cache", comps_repo=comps_repo)


def _not_found_message(payload: Payload, out: DnfOutput) -> str | None:
    specs = list(out.missing_specs)
    packages: list[str] = []
    for name in out.missing_packages:
        # dnf5 names a missing group as it names a missing package, without the "@".
        is_spec = name == payload.environment or name in payload.groups
        (specs if is_spec and name not in payload.packages else packages).append(name)
    parts = [f"{'environment' if name == payload.environment else 'group'} '{name}'" for name in specs]
    parts += [f"package '{name}'" for name in packages]
    message = "not found in the repositories: " + ", ".join(parts) if parts else ""
    if out.excluded_packages:
        excluded = ", ".join(f"'{name}'" for name in out.excluded_packages)
        message += ("; " if message else "") + f"excluded by payload.exclude: {excluded}"
    return message or None


def install_langs(languages: tuple[str, ...]) -> str:
    """rpm's %_install_langs value: the locales joined by ':', or 'none' for no translations at all."""
    return ":".join(languages) or "none"


def describe_repository(repo: Repository) -> str:
    unsigned = "" if repo.gpgcheck else ", signatures not checked"
    where = repo_url(repo.baseurl) if repo.baseurl else f"{'mirror list' if repo.mirrorlist else 'metalink'} " \
        f"{repo.source()}"
    return f"{repo.name} ({where}{unsigned})"


def _not_there_yet(root: Path, leaks: Sequence[str]) -> list[Path]:
    """Each leak path under root, and each parent of it, that does not exist yet: deepest first."""
    missing: list[Path] = []
    for leak in leaks:
        path = root / leak.lstrip("/")
        for candidate in [path, *path.parents]:
            if candidate == root or not candidate.is_relative_to(root) or candidate.exists():
                break
            if candidate not in missing:
                missing.append(candidate)
    return sorted(missing, key=lambda p: len(p.parts), reverse=True)


def _remove_leaks(root: Path, created: list[Path], runner: Runner) -> None:
    """Remove what dnf made of the dialect's leak paths (dnf 4's expired_repos.json under the cachedir's
    image in the root, dnf5's lock files): files at once; directories only when empty and owned by no
    package (such as /tmp itself when the root started empty, which the filesystem package owns)."""
    for made in created:
        if made.is_file() or made.is_symlink():
            made.unlink()
    dirs = [d for d in created if d.is_dir()]
    if not dirs:
        return
    inside = ["/" + str(d.relative_to(root)) for d in dirs]
    result = runner.run(["rpm", "--root", root, "--dbpath", RPM_DBPATH, "-qf", *inside], check=False)
    unowned = set(re.findall(r"^file (.+) is not owned by any package$", result.output, re.MULTILINE))
    for directory, name in zip(dirs, inside, strict=True):  # deepest first
        if name not in unowned:
            continue
        try:
            directory.rmdir()
        except OSError:
            continue  # not empty: something else lives there now


def run_dnf(
    payload: Payload,
    root: Path,
    runner: Runner,
    events: EventBus,
    workdir: Path,
    progress: ProgressFn | None = None,
) -> None:
    """Install the payload's environment, groups and packages into root in one transaction."""
    dialect = detect_dialect(runner)
    events.log(f"installing with {dialect.name} {dialect.version}".rstrip() + f" ({dialect.command})")
    setup = prepare(payload, workdir.resolve(), dialect)
    out = dialect.output(progress or events.progress)

    def on_line(line: str) -> None:
        out.feed(line)
        events.log(line, level="debug")

    created = _not_there_yet(root, dialect.leaks(setup))
    result = runner.run(dialect.argv(payload, root, setup), check=False, env=dialect.env(setup), on_line=on_line)
    _remove_leaks(root, created, runner)
    if payload.ignore_missing:
        for name in [*out.missing_specs, *out.missing_packages]:
            events.log(f"not in the repositories, skipped (ignore_missing): {name}", level="warning")
    for name in out.missing_group_packages:
        events.log(f"group package not in the repositories, skipped: {name}", level="warning")
    for name in out.missing_environment_groups:
        events.log(f"group of the environment not in the repositories, skipped: {name}", level="warning")
    if out.scriptlet_failures:
        # dnf 4 exits 0 after a failed %post (dnf5 1): the package is in the rpm database, half set up.
        raise PayloadError("; ".join(f.describe() for f in out.scriptlet_failures))
    if result.returncode == _NOT_FOUND and not out.lines:
        raise PayloadError(f"{dialect.command} is not installed on this system: the payload step needs dnf5 or dnf")
    if result.returncode != 0:
        not_found = _not_found_message(payload, out)
        if not_found:
            raise PayloadError(not_found)
        if out.signature_problems:
            messages = dict.fromkeys(problem.describe(payload) for problem in out.signature_problems)
            raise PayloadError("; ".join(messages))
        locations = {repo.name: repo_url(repo.source()) for repo in payload.repositories}
        if found := out.downloads.describe(locations) or out.space.describe():
            raise PayloadError(found)
        raise PayloadError(f"dnf failed with exit code {result.returncode}:\n{out.summary()}")
    events.log(f"dnf installed {out.installed} packages into {root}")
