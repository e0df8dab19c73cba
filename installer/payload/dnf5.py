"""dnf5 (Azure Linux 4.0's only dnf): how it is called and how its output reads.

With --installroot, dnf5 reads the --config file given on the command line from the host, but
its drop-in directories (/etc/dnf/libdnf5.conf.d, /usr/share/dnf5/libdnf.conf.d) from INSIDE the
root, before that file: the config below therefore sets every option that decides what gets
installed, and empties the append lists (excludepkgs, includepkgs) a target image's drop-ins
could fill. Paths given on the command line (cachedir) stay host paths; reposdir is prefixed with
the root whatever its source, and is empty anyway; variables (/etc/dnf/vars) come from the root,
as with dnf 4. Plugins of libdnf5 are off (plugins=False); dnf5's own command plugins load, unused.

Output: the transaction table goes to stdout, progress to stderr, one line per finished bar when
not on a terminal ("[ 5/24] Installing bash-0:5.2.37-1.azl4.noarch  100% | ..."); the bars'
width is that of a terminal (80 columns on a pipe, NEVRAs cut short) unless DNF5_FORCE_COLUMNS
says otherwise. Scriptlet messages come prefixed with ">>> ". dnf5 exits 1 on any failure, also
after a failed %post (dnf 4 exits 0 there), and 2 on bad arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from installer.payload.dnfbase import (
    Dialect,
    DnfOutput,
    DnfSetup,
    ProgressFn,
    SignatureKind,
    SignatureProblem,
)

# persistdir and logdir: as for dnf 4, prefixed with the installroot (the target's /var/log/dnf5.log);
# dnf5 keeps its own state (history, installed groups) in the target's /usr/lib/sysimage/libdnf5.
# pkg_gpgcheck is dnf5's name for gpgcheck; best=True is dnf5's default, Azure Linux sets it False.
CONFIG = """[main]
persistdir=/var/lib/dnf
logdir=/var/log
plugins=False
reposdir=
pkg_gpgcheck=True
best=False
excludepkgs=
includepkgs=
"""

# Wide enough for any NEVRA in the progress lines (and the transaction table on one line each).
COLUMNS = "200"

_PREFIX = ">>> "
# "[ 5/24] Installing bash-0:5.2.37-1.azl4.noarch   100% |  99.5 MiB/s |   1.9 MiB |  00m00s"
_TRANSACTION = re.compile(
    r"^\[\s*(\d+)/(\d+)\]\s+(Installing|Upgrading|Downgrading|Reinstalling|Removing|Cleanup)\s+(\S+)"
)
# ">>> Running %post scriptlet: badpost-0:1.0-1.azl4.noarch"
_RUNNING_SCRIPTLET = re.compile(r"^Running %\w+ scriptlet: ")
# ">>> Error in %pre scriptlet: badpre-0:1.0-1.azl4.noarch", ">>> Non-critical error in %post scriptlet: ..."
_DNF_SCRIPTLET = re.compile(r"^(?:Error|Non-critical error) in %(\w+) scriptlet: (\S+)\s*$")
_SCRIPTLET_OUTPUT = "Scriptlet output:"
# ">>> [RPM] %post(badpost-1.0-1.azl4.noarch) scriptlet failed, exit status 3"
_RPM_SCRIPTLET = re.compile(r"^\[RPM\] %(\w+)\((\S+)\) scriptlet failed, (.+?)\s*$")
# A missing group reads like a missing package ("@" dropped): the payload tells which it was.
_NO_MATCH = re.compile(r"^No match for argument: (.+?)\s*$")
_EXCLUDED = re.compile(r"^Argument '(.+)' matches only excluded packages\.\s*$")
_NO_GROUP_PACKAGE = re.compile(r"^No match for group package: (.+?)\s*$")
_NO_ENVIRONMENT_GROUP = re.compile(r"^No match for group from environment: (.+?)\s*$")
# 'OpenPGP check for package "vim-minimal-9.1.0-1.azl4.noarch" (/cache/...rpm) from repo "sample" has failed: ...'
_SIGNATURE = re.compile(r'^OpenPGP check for package "(.+?)" \(.*\) from repo "(.+?)" has failed: (.+?)\s*$')
_SIGNATURE_REASONS: dict[str, SignatureKind] = {
    "The package is not signed.": "unsigned",
    "The repository does not have any OpenPGP keys configured.": "no-key",
    "Import of the key didn't help, wrong key?": "untrusted",
    "Public key is not installed.": "untrusted",
}
# Where dnf5's own account of a failure starts; its hints ("You can try to add to command line:
# --skip-broken") are for people at a shell, not for an installer.
_FAILURE_START = ("Failed to resolve the transaction", "Transaction failed", "Failed to download metadata",
                  "Unknown argument", "Error:")
_HINTS = "You can try to add to command line:"

_VERBS = {"Cleanup": "cleaning up", "Removing": "removing"}
_EPOCH = re.compile(r"^(.+)-\d+:")


def _name(nevra: str) -> str:
    """dnf5 always writes the epoch ("bash-0:5.2.37-1.azl4.noarch"); without one, the bar was too
    narrow and cut the NEVRA within or right after the name: all of it is the best guess."""
    match = _EPOCH.match(nevra)
    return match.group(1) if match else nevra


@dataclass
class Dnf5Output(DnfOutput):
    in_scriptlet_output: bool = False

    def read_line(self, line: str) -> None:
        prefixed = line.startswith(_PREFIX)
        text = line.removeprefix(_PREFIX).strip() if prefixed else line.strip()
        if match := _RPM_SCRIPTLET.match(text):
            self.in_scriptlet_output = False
            scriptlet, nevra, detail = match.groups()
            self.scriptlet_failed(nevra, scriptlet, detail)
        elif prefixed and self.in_scriptlet_output:
            if text:
                self._recent.append(text)
        elif text == _SCRIPTLET_OUTPUT:
            self.in_scriptlet_output = True
            self._recent.clear()
        elif match := _DNF_SCRIPTLET.match(text):
            self.scriptlet_failed(match.group(2), match.group(1), None)
        elif _RUNNING_SCRIPTLET.match(text):
            self._recent.clear()
        elif match := _TRANSACTION.match(text):
            index, total, verb, nevra = match.groups()
            self.in_scriptlet_output = False
            if verb != "Cleanup":
                self.installed += 1
            self.progress(int(index) / max(1, int(total)), f"{_VERBS.get(verb, verb.lower())} {_name(nevra)}")
        elif match := _NO_MATCH.match(text):
            self.missing_packages.append(match.group(1))
        elif match := _EXCLUDED.match(text):
            self.excluded_packages.append(match.group(1))
        elif match := _NO_GROUP_PACKAGE.match(text):
            self.missing_group_packages.append(match.group(1))
        elif match := _NO_ENVIRONMENT_GROUP.match(text):
            self.missing_environment_groups.append(match.group(1))
        elif match := _SIGNATURE.match(text):
            package, repo, reason = match.groups()
            kind = _SIGNATURE_REASONS.get(reason, "other")
            self.signature_problems.append(SignatureProblem(kind, package=package, repo=repo, detail=reason))

    def summary(self) -> str:
        start = next((i for i, line in enumerate(self.lines) if line.startswith(_FAILURE_START)), None)
        if start is None:
            return super().summary()
        kept: list[str] = []
        for line in self.lines[start:]:
            if line.startswith(_HINTS):
                break
            kept.append(line)
        return "\n".join(kept).strip()


@dataclass(frozen=True)
class Dnf5(Dialect):
    name: ClassVar[str] = "dnf5"
    config: ClassVar[str] = CONFIG
    # --repo enables this repository and turns off every one not named by a --repo.
    enable_option: ClassVar[str] = "--repo"
    gpgcheck_option: ClassVar[str] = "pkg_gpgcheck"  # dnf5's name for gpgcheck
    skip_unavailable: ClassVar[str] = "--skip-unavailable"


    def env(self, setup: DnfSetup) -> dict[str, str]:
        return {**super().env(setup), "DNF5_FORCE_COLUMNS": COLUMNS}

    def output(self, progress: ProgressFn) -> DnfOutput:
        return Dnf5Output(progress)

    def leaks(self, setup: DnfSetup) -> tuple[str, ...]:
        # The transaction lock's directory (the lock itself goes) and the system repository's lock:
        # runtime files of this dnf run that dnf 4 does not leave.
        return ("/run/dnf", "/var/lib/dnf/system-repo.lock")
