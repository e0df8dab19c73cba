"""What the two dnf dialects share: the scratch set-up, what a run's output told, and the Dialect base.

installer/payload/dnf4.py and dnf5.py each say how their dnf is called (config file, argv,
environment), how its output reads, and what it leaves in the target that is not the target's.
installer/payload/dnf.py finds out which dnf the installer system has and runs it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

from installer.payload.diskspace import SpaceProblems
from installer.payload.downloads import DownloadProblems
from profiles.model import Payload, Repository

COMPS_REPO_ID = "azl-installer-comps"
# Azure Linux's rpm keeps its database here; Debian's rpm would otherwise use ~/.rpmdb (12) or /var/lib/rpm (sid).
RPM_DBPATH = "/usr/lib/sysimage/rpm"

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


def repo_url(baseurl: str) -> str:
    """A URL dnf accepts: directories (already absolute after profile loading) become file:// URLs."""
    if "://" in baseurl:
        return baseurl
    return Path(baseurl).resolve().as_uri()


def install_specs(payload: Payload) -> list[str]:
    """Both dnfs read "@id" as an environment or a group; dnf 4.14 rejects dnf 5's "@^env" form."""
    specs = [f"@{payload.environment}"] if payload.environment else []
    specs += [f"@{group}" for group in payload.groups]
    return specs + list(payload.packages)


def package_name(nevra: str) -> str:
    """Name from name-[epoch:]version-release.arch: "bash-5.2.37-1.azl4.noarch" -> "bash" (names hold
    dashes); dnf5 writes the epoch: "bash-0:5.2.37-1.azl4.noarch"."""
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


SignatureKind = Literal["no-key", "unsigned", "untrusted", "other"]


@dataclass(frozen=True)
class SignatureProblem:
    """A package or repository that failed the signature check, as either dnf reported it."""

    kind: SignatureKind
    package: str | None = None  # name-version-release.arch
    repo: str | None = None
    detail: str = ""  # dnf's own reason, for kind "other"

    def describe(self, payload: Payload) -> str:
        kind = self.kind
        keys = {r.name: r.gpgkey for r in payload.repositories}
        # dnf 4 checks for keys first and names the repository; dnf5 names the unsigned package. Both
        # mean the same when the repository has no key: say it as dnf 4 does.
        if kind == "unsigned" and self.repo in keys and not keys[self.repo]:
            kind = "no-key"
        if kind == "no-key":
            return (f"repository '{self.repo}' has gpgcheck on but no signing key: set its gpgkey, "
                    "or gpgcheck: false for a trusted local repository")
        if kind == "unsigned":
            return f"package {self.package} is not signed but its repository has gpgcheck on"
        if kind == "untrusted":
            return f"package {self.package} is signed by a key that is not trusted: check the repository's gpgkey"
        return f"package {self.package} failed the signature check: {self.detail}"


@dataclass
class DnfOutput:
    """Reads dnf's output line by line: progress, scriptlet failures and what was not found.

    Each dialect's subclass reads its dnf's wording (read_line); the findings are the same."""

    progress: ProgressFn
    scriptlet_failures: list[ScriptletFailure] = field(default_factory=list)
    missing_specs: list[str] = field(default_factory=list)  # groups/environments dnf named as such
    missing_packages: list[str] = field(default_factory=list)  # dnf5: also groups (it says "argument")
    excluded_packages: list[str] = field(default_factory=list)
    missing_group_packages: list[str] = field(default_factory=list)
    missing_environment_groups: list[str] = field(default_factory=list)
    signature_problems: list[SignatureProblem] = field(default_factory=list)
    downloads: DownloadProblems = field(default_factory=DownloadProblems)  # the same lines in both dnfs
    space: SpaceProblems = field(default_factory=SpaceProblems)
    lines: list[str] = field(default_factory=list)
    installed: int = 0
    # Lines since the last transaction line (dnf 4) or in the last scriptlet output block (dnf5).
    _recent: deque[str] = field(default_factory=lambda: deque(maxlen=5))

    def feed(self, line: str) -> None:
        self.lines.append(line)
        self.downloads.read(line)
        self.space.read(line)
        self.read_line(line)

    def read_line(self, line: str) -> None:
        raise NotImplementedError

    def summary(self) -> str:
        """dnf's own words for a failure nothing else explained: its last 15 lines."""
        return "\n".join(self.lines[-15:]).strip()

    def scriptlet_failed(self, package: str, scriptlet: str, detail: str | None) -> None:
        """Record a failure once per package. rpm's line (full NEVRA, exit status) wins over dnf's
        (bare name or NEVRA with epoch), whichever came first: dnf 4 prints rpm's first, dnf5 its own."""
        output = [line for line in self._recent if not line.startswith(("warning:", "error:"))]
        for index, failure in enumerate(self.scriptlet_failures):
            if package_name(package) == package_name(failure.package):
                if detail is not None and failure.detail == "failed":
                    self.scriptlet_failures[index] = ScriptletFailure(package, scriptlet, detail,
                                                                      output or failure.output)
                return
        self.scriptlet_failures.append(ScriptletFailure(package, scriptlet, detail or "failed", output))


@dataclass(frozen=True)
class Dialect:
    """How one dnf is called and how its output reads. command is the program to run."""

    command: str
    version: str = ""
    name: ClassVar[str]  # as the plan and the log name it: "dnf5", "dnf 4"
    config: ClassVar[str]  # the installer's own dnf config file: nothing of the host's or the target's
    enable_option: ClassVar[str]  # "--enablerepo" (dnf 4) or "--repo" (dnf5) with the repository's id
    gpgcheck_option: ClassVar[str]  # the per-repository signature switch: "gpgcheck" or "pkg_gpgcheck"
    skip_unavailable: ClassVar[str]  # install what exists when a named package or group does not

    def argv(self, payload: Payload, root: Path, setup: DnfSetup) -> list[str]:
        argv = [
            self.command,
            "-y",
            f"--config={setup.config}",
            f"--installroot={root}",
            f"--releasever={payload.releasever}",
            # Given on the command line, these are not prefixed with the installroot (unlike the
            # config file's): the cache stays in the host's scratch directory.
            "--setopt=reposdir=/nonexistent",
            f"--setopt=cachedir={setup.cachedir}",
            f"--setopt=install_weak_deps={payload.install_weak_deps}",
            # A repository that stops sending: given up after this many seconds (each of librepo's tries).
            f"--setopt=timeout={payload.timeout}",
            *self.only_given_repos(),
        ]
        if not payload.docs:
            argv.append("--setopt=tsflags=nodocs")
        if payload.ignore_missing:
            argv.append(self.skip_unavailable)
        for repo in payload.repositories:
            argv += self.repo_args(repo.name, repo_url(repo.source()), repo.gpgcheck, repo.gpgkey)
            argv += self.repo_extras(repo)
        if setup.comps_repo is not None:
            # It holds no packages, so there is nothing to verify a signature of.
            argv += self.repo_args(COMPS_REPO_ID, setup.comps_repo.as_uri(), False, None)
        argv += [f"--exclude={name}" for name in payload.exclude]
        return [*argv, "install", *install_specs(payload)]

    def only_given_repos(self) -> list[str]:
        """Options that turn off every repository not given on the command line."""
        return []

    def repo_args(self, repo_id: str, url: str, gpgcheck: bool, gpgkey: str | None) -> list[str]:
        # Signatures per repository, unlike --nogpgcheck, so one unsigned local repo does not turn off
        # the checks for the others.
        args = [f"--repofrompath={repo_id},{url}", f"{self.enable_option}={repo_id}",
                f"--setopt={repo_id}.{self.gpgcheck_option}={int(gpgcheck)}"]
        return [*args, f"--setopt={repo_id}.gpgkey={gpgkey}"] if gpgkey else args

    def repo_extras(self, repo: Repository) -> list[str]:
        """A mirror list or metalink in place of the base URL, the cost, and what to take or leave from it."""
        args: list[str] = []
        for key in ("mirrorlist", "metalink"):
            value = getattr(repo, key)
            if value:
                # --repofrompath always sets baseurl: emptied, so dnf asks the list for mirrors.
                args += [f"--setopt={repo.name}.baseurl=", f"--setopt={repo.name}.{key}={value}"]
        if repo.cost is not None:
            args.append(f"--setopt={repo.name}.cost={repo.cost}")
        if repo.include:
            args.append(f"--setopt={repo.name}.includepkgs={','.join(repo.include)}")
        if repo.exclude:
            args.append(f"--setopt={repo.name}.excludepkgs={','.join(repo.exclude)}")
        return args

    def env(self, setup: DnfSetup) -> dict[str, str]:
        return {"HOME": str(setup.home)}

    def output(self, progress: ProgressFn) -> DnfOutput:
        raise NotImplementedError

    def leaks(self, setup: DnfSetup) -> tuple[str, ...]:
        """Paths inside the target that dnf itself creates and that are not the target's: removed
        after the run when they were not there before (directories only if empty and no package's)."""
        return ()
