"""Install packages, groups and an environment into the target with one dnf 4 transaction.

dnf runs on the host with --installroot. Everything it would otherwise read from the host
(repository files, plugins, the rpm database location) is pinned by a config file and a
private HOME in the scratch workdir, so the host's dnf setup cannot leak into the target.
"""

from __future__ import annotations

import re
import shutil
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from installer.core.events import EventBus
from installer.core.runner import Runner
from profiles.model import Payload, Repository

COMPS_REPO_ID = "azl-installer-comps"
# Azure Linux's rpm keeps its database here; Debian's rpm would otherwise use ~/.rpmdb.
RPM_DBPATH = "/usr/lib/sysimage/rpm"

# persistdir and logdir are read from the config file, so dnf prefixes them with the
# installroot: the history and dnf.log end up in the installed system, where they belong.
# gpgcheck defaults on: dnf 4's built-in default is off, which would accept unsigned packages.
DNF_CONFIG = """[main]
persistdir=/var/lib/dnf
logdir=/var/log
plugins=False
reposdir=
gpgcheck=True
"""

ProgressFn = Callable[[float, str], None]


class PayloadError(Exception):
    """The payload could not be installed; the message says what and, if known, why."""


@dataclass(frozen=True)
class DnfSetup:
    """Files in the host-side scratch directory that a dnf run uses."""

    config: Path
    home: Path
    cachedir: Path
    comps_repo: Path | None  # metadata-only repository holding the installer's comps


def comps_path() -> Path:
    resource = resources.files("installer") / "data" / "azurelinux-comps.xml"
    return Path(str(resource))


def repo_url(baseurl: str) -> str:
    """A URL dnf accepts: directories (already absolute after profile loading) become file:// URLs."""
    if "://" in baseurl:
        return baseurl
    return Path(baseurl).resolve().as_uri()


def install_specs(payload: Payload) -> list[str]:
    """dnf 4.14 reads "@id" as an environment or a group; it rejects dnf 5's "@^env" form."""
    specs = [f"@{payload.environment}"] if payload.environment else []
    specs += [f"@{group}" for group in payload.groups]
    return specs + list(payload.packages)


def needs_comps(payload: Payload) -> bool:
    return bool(payload.environment or payload.groups)


def prepare(payload: Payload, workdir: Path, runner: Runner) -> DnfSetup:
    """Write dnf's config and HOME, and build the comps repository when groups are wanted."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "dnf.conf"
    config.write_text(DNF_CONFIG)
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    (home / ".rpmmacros").write_text(f"%_dbpath {RPM_DBPATH}\n")
    comps_repo: Path | None = None
    if needs_comps(payload):
        comps_repo = workdir / "comps-repo"
        # createrepo_c refuses to run over a leftover .repodata from an interrupted run.
        shutil.rmtree(comps_repo, ignore_errors=True)
        comps_repo.mkdir()
        runner.run(["createrepo_c", "-q", "-g", comps_path(), comps_repo])
    return DnfSetup(config=config, home=home, cachedir=workdir / "dnf-cache", comps_repo=comps_repo)


def _repo_args(repo_id: str, url: str, gpgcheck: bool, gpgkey: str | None) -> list[str]:
    args = [
        f"--repofrompath={repo_id},{url}",
        f"--enablerepo={repo_id}",
        # Per repository, unlike --nogpgcheck, so one unsigned local repo does not turn off
        # signature checks for the others.
        f"--setopt={repo_id}.gpgcheck={int(gpgcheck)}",
    ]
    if gpgkey:
        args.append(f"--setopt={repo_id}.gpgkey={gpgkey}")
    return args


def dnf_argv(payload: Payload, root: Path, setup: DnfSetup) -> list[str]:
    argv = [
        "dnf",
        "-y",
        f"--config={setup.config}",
        f"--installroot={root}",
        f"--releasever={payload.releasever}",
        # Given on the command line, these are not prefixed with the installroot (unlike the
        # config file's): the cache stays in the host's scratch directory.
        "--setopt=reposdir=/nonexistent",
        f"--setopt=cachedir={setup.cachedir}",
        f"--setopt=install_weak_deps={payload.install_weak_deps}",
        "--disablerepo=*",
    ]
    for repo in payload.repositories:
        argv += _repo_args(repo.name, repo_url(repo.baseurl), repo.gpgcheck, repo.gpgkey)
    if setup.comps_repo is not None:
        # It holds no packages, so there is nothing to verify a signature of.
        argv += _repo_args(COMPS_REPO_ID, setup.comps_repo.as_uri(), False, None)
    argv += [f"--exclude={name}" for name in payload.exclude]
    return [*argv, "install", *install_specs(payload)]


def dnf_env(setup: DnfSetup) -> dict[str, str]:
    return {"HOME": str(setup.home)}


# "  Installing       : bash-5.2.37-1.azl4.noarch        3/10"
_TRANSACTION = re.compile(
    r"^\s*(Installing|Upgrading|Reinstalling|Downgrading|Obsoleting|Erasing|Cleanup)\s*:\s*(\S+)\s+(\d+)/(\d+)\s*$"
)
_OTHER_PROGRESS = re.compile(r"^\s*(Preparing|Running scriptlet|Verifying)\s*:")
# rpm: "warning: %post(foo-1.0-1.noarch) scriptlet failed, exit status 127" ("error:" for %pre).
_RPM_SCRIPTLET = re.compile(r"^(?:warning|error): %(\w+)\((\S+)\) scriptlet failed, (.+?)\s*$")
# dnf: "Error in POSTIN scriptlet in rpm package foo", "Non-fatal POSTUN scriptlet failure in rpm package foo"
_DNF_SCRIPTLET = re.compile(r"^(?:Error in (\w+) scriptlet|Non-fatal (\w+) scriptlet failure) in rpm package (\S+)\s*$")
_NO_PACKAGE = re.compile(r"^No match for argument: (.+?)\s*$")
_EXCLUDED = re.compile(r"^All matches were filtered out by exclude filtering for argument: (.+?)\s*$")
_NO_GROUP = re.compile(r"^Module or Group '(.+)' (?:is not available|does not exist)\.\s*$")
_NO_GROUP_PACKAGE = re.compile(r'^No match for group package "(.+)"\s*$')
_NO_KEYS = re.compile(r"^Problem repository: \[(.+)\]\s*$")  # after "You have enabled checking ... GPG keys"
_NOT_SIGNED = re.compile(r"^Package (\S+?)(?:\.rpm)? is not signed\s*$")
_KEY_MISSING = re.compile(r"^Public key for (\S+?)(?:\.rpm)? is not installed\s*$")

_VERBS = {"Cleanup": "cleaning up", "Erasing": "removing"}
# dnf names scriptlets by rpm tag; rpm by spec section.
_DNF_SCRIPTLET_NAMES = {"PREIN": "pre", "POSTIN": "post", "PREUN": "preun", "POSTUN": "postun"}


def package_name(nevra: str) -> str:
    """Name from name-version-release.arch: "bash-5.2.37-1.azl4.noarch" -> "bash" (names hold dashes)."""
    parts = nevra.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else nevra


@dataclass
class ScriptletFailure:
    package: str  # name-version-release.arch from rpm, or the bare name from dnf
    scriptlet: str  # post, prein, pretrans, ...
    detail: str = "failed"  # "exit status 127" when rpm said so
    output: list[str] = field(default_factory=list)  # what the scriptlet printed

    def describe(self) -> str:
        text = f"%{self.scriptlet} scriptlet of package {self.package} failed ({self.detail})"
        if self.detail.endswith("exit status 127"):
            text += ": a command, or the target's /bin/sh, could not be run"
        if self.output:
            text += ": " + " | ".join(self.output)
        return text


@dataclass
class DnfOutput:
    """Reads dnf's output line by line: progress, scriptlet failures and what was not found."""

    progress: ProgressFn
    scriptlet_failures: list[ScriptletFailure] = field(default_factory=list)
    missing_specs: list[str] = field(default_factory=list)  # groups/environments and packages
    missing_packages: list[str] = field(default_factory=list)
    excluded_packages: list[str] = field(default_factory=list)
    missing_group_packages: list[str] = field(default_factory=list)
    signature_problems: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    installed: int = 0
    # Lines since the last transaction line: what a failing scriptlet printed.
    _recent: deque[str] = field(default_factory=lambda: deque(maxlen=5))

    def feed(self, line: str) -> None:
        self.lines.append(line)
        if match := _TRANSACTION.match(line):
            verb, nevra, index, total = match.groups()
            self._recent.clear()
            if verb != "Cleanup":
                self.installed = max(self.installed, int(index))
            self.progress(int(index) / max(1, int(total)), f"{_VERBS.get(verb, verb.lower())} {package_name(nevra)}")
        elif _OTHER_PROGRESS.match(line):
            self._recent.clear()
        elif match := _RPM_SCRIPTLET.match(line):
            scriptlet, nevra, detail = match.groups()
            self._scriptlet_failed(nevra, scriptlet, detail)
        elif match := _DNF_SCRIPTLET.match(line):
            tag = match.group(1) or match.group(2)
            self._scriptlet_failed(match.group(3), _DNF_SCRIPTLET_NAMES.get(tag, tag.lower()), None)
        elif match := _NO_PACKAGE.match(line):
            self.missing_packages.append(match.group(1))
        elif match := _EXCLUDED.match(line):
            self.excluded_packages.append(match.group(1))
        elif match := _NO_GROUP.match(line):
            self.missing_specs.append(match.group(1))
        elif match := _NO_GROUP_PACKAGE.match(line):
            self.missing_group_packages.append(match.group(1))
        elif match := _NO_KEYS.match(line):
            self.signature_problems.append(
                f"repository '{match.group(1)}' has gpgcheck on but no signing key: set its gpgkey, "
                "or gpgcheck: false for a trusted local repository"
            )
        elif match := _NOT_SIGNED.match(line):
            self.signature_problems.append(f"package {match.group(1)} is not signed but its repository has gpgcheck on")
        elif match := _KEY_MISSING.match(line):
            self.signature_problems.append(
                f"package {match.group(1)} is signed by a key that is not trusted: check the repository's gpgkey"
            )
        elif line.strip():
            self._recent.append(line.strip())

    def _scriptlet_failed(self, package: str, scriptlet: str, detail: str | None) -> None:
        # rpm's line (with the exit status) comes first, then dnf's (with the bare name).
        for failure in self.scriptlet_failures:
            if package in (failure.package, package_name(failure.package)):
                return
        output = [line for line in self._recent if not line.startswith(("warning:", "error:"))]
        self.scriptlet_failures.append(ScriptletFailure(package, scriptlet, detail or "failed", output))


def _not_found_message(payload: Payload, out: DnfOutput) -> str | None:
    parts: list[str] = []
    for name in out.missing_specs:
        kind = "environment" if name == payload.environment else "group"
        parts.append(f"{kind} '{name}'")
    parts += [f"package '{name}'" for name in out.missing_packages]
    message = "not found in the repositories: " + ", ".join(parts) if parts else ""
    if out.excluded_packages:
        excluded = ", ".join(f"'{name}'" for name in out.excluded_packages)
        message += ("; " if message else "") + f"excluded by payload.exclude: {excluded}"
    return message or None


def _failure_summary(out: DnfOutput) -> str:
    for index, line in enumerate(out.lines):
        if line.startswith("Error:"):
            return "\n".join(out.lines[index:]).strip()
    return "\n".join(out.lines[-15:]).strip()


def describe_repository(repo: Repository) -> str:
    unsigned = "" if repo.gpgcheck else ", signatures not checked"
    return f"{repo.name} ({repo_url(repo.baseurl)}{unsigned})"


def _missing_dirs(root: Path, host_dir: Path) -> list[Path]:
    """host_dir's image under root, and each parent of it under root, that does not exist yet."""
    inside = root / host_dir.relative_to(host_dir.anchor)
    return [d for d in [inside, *inside.parents] if d.is_relative_to(root) and d != root and not d.exists()]


def _remove_cache_leak(root: Path, created: list[Path], runner: Runner) -> None:
    """dnf 4 writes expired_repos.json to the cachedir prefixed with the installroot even when
    the cachedir came from --setopt. Remove it and the directories made for it, but none that
    a package owns (such as /tmp itself when the root started empty)."""
    if not created or not created[0].is_dir():
        return
    (created[0] / "expired_repos.json").unlink(missing_ok=True)
    inside = ["/" + str(d.relative_to(root)) for d in created]
    result = runner.run(["rpm", "--root", root, "--dbpath", RPM_DBPATH, "-qf", *inside], check=False)
    unowned = set(re.findall(r"^file (.+) is not owned by any package$", result.output, re.MULTILINE))
    for directory, path in zip(created, inside, strict=True):  # deepest first
        if path not in unowned:
            break
        try:
            directory.rmdir()
        except OSError:
            break  # not empty: something else lives there now


def run_dnf(
    payload: Payload,
    root: Path,
    runner: Runner,
    events: EventBus,
    workdir: Path,
    progress: ProgressFn | None = None,
) -> None:
    """Install the payload's environment, groups and packages into root in one transaction."""
    setup = prepare(payload, workdir.resolve(), runner)
    out = DnfOutput(progress or events.progress)

    def on_line(line: str) -> None:
        out.feed(line)
        events.log(line, level="debug")

    leak = _missing_dirs(root, setup.cachedir)
    result = runner.run(dnf_argv(payload, root, setup), check=False, env=dnf_env(setup), on_line=on_line)
    _remove_cache_leak(root, leak, runner)
    for name in out.missing_group_packages:
        events.log(f"group package not in the repositories, skipped: {name}", level="warning")
    if out.scriptlet_failures:
        # dnf exits 0 after a failed %post: the package is in the rpm database, half set up.
        raise PayloadError("; ".join(f.describe() for f in out.scriptlet_failures))
    if result.returncode != 0:
        not_found = _not_found_message(payload, out)
        if not_found:
            raise PayloadError(not_found)
        if out.signature_problems:
            raise PayloadError("; ".join(out.signature_problems))
        raise PayloadError(f"dnf failed with exit code {result.returncode}:\n{_failure_summary(out)}")
    events.log(f"dnf installed {out.installed} packages into {root}")
