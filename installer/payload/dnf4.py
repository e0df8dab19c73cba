"""dnf 4 (Debian 12's 4.14, the installer's live system today): how it is called and how its output reads.

dnf 4 reads the --config file from the host and no drop-ins; --disablerepo='*' leaves only the
repositories given on the command line. It writes transaction lines to stdout, rpm's scriptlet
lines to stderr, and exits 0 after a failed %post.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from installer.payload.dnfbase import Dialect, DnfOutput, DnfSetup, ProgressFn, SignatureProblem, package_name

# persistdir and logdir are read from the config file, so dnf prefixes them with the
# installroot: the history and dnf.log end up in the installed system, where they belong.
# gpgcheck defaults on: dnf 4's built-in default is off, which would accept unsigned packages.
# best=False is dnf 4.14's default already, and what Azure Linux's dnf.conf says.
CONFIG = """[main]
persistdir=/var/lib/dnf
logdir=/var/log
plugins=False
reposdir=
gpgcheck=True
best=False
"""

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
# dnf 4.14 goes on after the name: "... is not installed. Failing package is: foo-1.0-1.noarch"
_KEY_MISSING = re.compile(r"^Public key for (\S+?)(?:\.rpm)? is not installed\b")

_VERBS = {"Cleanup": "cleaning up", "Erasing": "removing"}
# dnf names scriptlets by rpm tag; rpm by spec section.
_DNF_SCRIPTLET_NAMES = {"PREIN": "pre", "POSTIN": "post", "PREUN": "preun", "POSTUN": "postun"}


@dataclass
class Dnf4Output(DnfOutput):
    def read_line(self, line: str) -> None:
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
            self.scriptlet_failed(nevra, scriptlet, detail)
        elif match := _DNF_SCRIPTLET.match(line):
            tag = match.group(1) or match.group(2)
            self.scriptlet_failed(match.group(3), _DNF_SCRIPTLET_NAMES.get(tag, tag.lower()), None)
        elif match := _NO_PACKAGE.match(line):
            self.missing_packages.append(match.group(1))
        elif match := _EXCLUDED.match(line):
            self.excluded_packages.append(match.group(1))
        elif match := _NO_GROUP.match(line):
            self.missing_specs.append(match.group(1))
        elif match := _NO_GROUP_PACKAGE.match(line):
            self.missing_group_packages.append(match.group(1))
        elif match := _NO_KEYS.match(line):
            self.signature_problems.append(SignatureProblem("no-key", repo=match.group(1)))
        elif match := _NOT_SIGNED.match(line):
            self.signature_problems.append(SignatureProblem("unsigned", package=match.group(1)))
        elif match := _KEY_MISSING.match(line):
            self.signature_problems.append(SignatureProblem("untrusted", package=match.group(1)))
        elif line.strip():
            self._recent.append(line.strip())

    def summary(self) -> str:
        for index, line in enumerate(self.lines):
            if line.startswith("Error:"):
                return "\n".join(self.lines[index:]).strip()
        return super().summary()


@dataclass(frozen=True)
class Dnf4(Dialect):
    name: ClassVar[str] = "dnf 4"
    config: ClassVar[str] = CONFIG
    enable_option: ClassVar[str] = "--enablerepo"
    gpgcheck_option: ClassVar[str] = "gpgcheck"
    skip_unavailable: ClassVar[str] = "--setopt=strict=False"

    def only_given_repos(self) -> list[str]:
        return ["--disablerepo=*"]


    def output(self, progress: ProgressFn) -> DnfOutput:
        return Dnf4Output(progress)

    def leaks(self, setup: DnfSetup) -> tuple[str, ...]:
        # dnf 4 writes expired_repos.json to the cachedir prefixed with the installroot even when
        # the cachedir came from --setopt.
        return (str(setup.cachedir / "expired_repos.json"),)
