"""Split an installed Debian root into the test distribution's packages: files, directories and dependencies.

The root was installed by mmdebstrap, so every maintainer script has already run. Instead of
translating those scripts, the test distribution ships their results as files (users in
/etc/passwd, the compiled SELinux policy, enabled units' symlinks, the CA bundle, byte-compiled
Python): each file goes to the package that dpkg says owns it, and a file no package owns goes to
the package named in the recipe's STATE_OWNERS, else to the owner of the unit or alternative it links
to, else to the owner of its nearest directory. Directories that several packages share go to
`filesystem`. Debian's Depends and Pre-Depends become Requires between the new names.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sample.testdistro import recipe

# Merged /usr: dpkg may list /bin/ls while the file lives at /usr/bin/ls.
_MERGED = (("/bin/", "/usr/bin/"), ("/sbin/", "/usr/sbin/"), ("/lib/", "/usr/lib/"), ("/lib64/", "/usr/lib64/"))


@dataclass
class DebPackage:
    name: str
    version: str
    essential: bool
    depends: list[list[str]]  # alternatives per dependency, bare names
    provides: list[str]


@dataclass
class RpmPackage:
    name: str
    version: str
    debian: list[str] = field(default_factory=list)  # the Debian packages it carries
    paths: set[str] = field(default_factory=set)  # files, links and directories it owns
    requires: set[str] = field(default_factory=set)
    provides: set[str] = field(default_factory=set)
    posttrans: str | None = None
    lua_posttrans: str | None = None  # runs without /bin/sh (for what is installed before any shell)
    file_trigger: tuple[str, str] | None = None  # (directories, script): runs once a transaction touched them
    left_out: list[str] = field(default_factory=list)  # (filesystem only) state no package explains


def normalize(path: str) -> str:
    for old, new in _MERGED:  # only what is under the link: the links themselves stay /bin, /lib, ...
        if path.startswith(old):
            return new + path[len(old):]
    for old, new in recipe.PATH_RENAMES:
        if path == old or path.startswith(old + "/"):
            return new + path[len(old):]
    return path


def _parse_relations(text: str) -> list[list[str]]:
    relations = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        # "libc6 (>= 2.36) | libc6.1:any" -> ["libc6", "libc6.1"]; versions are one snapshot, so dropped.
        relations.append([re.sub(r"[\s(:].*", "", alt.strip()) for alt in part.split("|")])
    return relations


def read_status(root: Path) -> dict[str, DebPackage]:
    """Installed packages from dpkg's status file."""
    packages: dict[str, DebPackage] = {}
    for stanza in (root / "var/lib/dpkg/status").read_text().split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in stanza.splitlines():
            if line.startswith((" ", "\t")) and key:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" not in fields or "installed" not in fields.get("Status", ""):
            continue
        depends = _parse_relations(fields.get("Depends", "")) + _parse_relations(fields.get("Pre-Depends", ""))
        provides = [alts[0] for alts in _parse_relations(fields.get("Provides", ""))]
        packages[fields["Package"]] = DebPackage(fields["Package"], fields["Version"],
                                                 fields.get("Essential") == "yes", depends, provides)
    return packages


def _dpkg_lists(root: Path, packages: Iterable[str]) -> dict[str, list[str]]:
    info = root / "var/lib/dpkg/info"
    lists: dict[str, list[str]] = {}
    for name in packages:
        path = next((p for p in (info / f"{name}.list", info / f"{name}:amd64.list") if p.exists()), None)
        lists[name] = [normalize(line) for line in path.read_text().splitlines() if line] if path else []
    return lists


def rpm_name_of(debian: dict[str, DebPackage]) -> dict[str, str]:
    """Debian package name -> the test distribution package carrying it."""
    names = {name: name for name in debian}
    for new, patterns in recipe.RENAMES.items():
        for pattern in patterns:
            for name in fnmatch.filter(debian, pattern):
                names[name] = new
    return names


def rpm_version(version: str) -> str:
    """Debian "1:2.3-4+deb13u1" -> RPM version "2.3" (epochs and Debian revisions dropped, '-' and '~' mapped)."""
    upstream = version.split(":", 1)[-1].rsplit("-", 1)[0]
    return re.sub(r"[^A-Za-z0-9._+]", ".", upstream) or "0"


def _dropped(path: str) -> bool:
    return path.startswith(recipe.DROPPED_PREFIXES) or path.endswith(recipe.DROPPED_SUFFIXES)


def _walk(root: Path) -> Iterable[str]:
    """Every path in root except dropped ones, directories before what they hold."""
    for current, dirs, files in os.walk(root):
        rel = "/" + os.path.relpath(current, root) if current != str(root) else "/"
        kept = [d for d in dirs if not _dropped(os.path.join(rel, d))]
        # Links to directories are entries, not places to descend into.
        for name in [d for d in kept if os.path.islink(os.path.join(current, d))] + files:
            path = os.path.join(rel, name)
            # Logs of the build are left out; the directories packages keep logs in stay (auditd needs its own).
            if not _dropped(path) and not path.startswith("/var/log/"):
                yield path
        dirs[:] = [d for d in kept if not os.path.islink(os.path.join(current, d))]
        for name in dirs:
            yield os.path.join(rel, name)


def split(root: Path, added: dict[str, str]) -> dict[str, RpmPackage]:
    """The test distribution's packages, made from the installed Debian root.

    added: files the builder put into the root (path -> package), which win over dpkg's owner."""
    debian = read_status(root)
    rpm_of = rpm_name_of(debian)
    packages: dict[str, RpmPackage] = {}
    for deb in debian.values():
        pkg = packages.setdefault(rpm_of[deb.name], RpmPackage(rpm_of[deb.name], rpm_version(deb.version)))
        pkg.debian.append(deb.name)
    for name, requires in recipe.NEW_PACKAGES.items():
        packages[name] = RpmPackage(name, recipe.VERSION_ID, requires=set(requires))

    owners: dict[str, set[str]] = {}
    for deb_name, paths in _dpkg_lists(root, debian).items():
        for path in paths:
            owners.setdefault(path, set()).add(rpm_of[deb_name])
    for path, name in added.items():
        owners[path] = {name}

    for path in _walk(root):
        full = root / path.lstrip("/")
        is_dir = full.is_dir() and not full.is_symlink()
        owner = owners.get(path, set())
        if len(owner) == 1 and not (is_dir and path in recipe.SKELETON_DIRS):
            chosen = next(iter(owner))
        elif is_dir and (owner or path in recipe.SKELETON_DIRS):
            chosen = "filesystem"  # shared by several packages
        else:
            chosen = _state_owner(root, path, owners) or ("filesystem" if is_dir else "")
        if chosen in packages:
            packages[chosen].paths.add(path)
        else:
            packages["filesystem"].left_out.append(path)

    # Mount points and scratch directories: their contents are dropped, the (empty) directories stay.
    packages["filesystem"].paths.update(d for d in recipe.SKELETON_DIRS if (root / d.lstrip("/")).is_dir())
    _add_requires(debian, rpm_of, packages)
    for name, requires in recipe.EXTRA_REQUIRES.items():
        if name in packages:
            packages[name].requires.update(requires)
    for name, provides in recipe.PROVIDES.items():
        if name in packages:
            packages[name].provides.update(provides)
    for pkg in packages.values():
        pkg.requires.discard(pkg.name)
    return packages


def _state_owner(root: Path, path: str, owners: dict[str, set[str]]) -> str | None:
    """Who carries a file that a maintainer script made (None: nobody, it is left out)."""
    for prefix, owner in recipe.STATE_OWNERS:
        if path == prefix or path.startswith(prefix):
            return owner
    if (root / path.lstrip("/")).is_symlink():
        # An enabled unit's link, an alternative (/usr/bin/vi -> /etc/alternatives/vi -> vim.tiny): the target's owner.
        target = _resolve(root, path)
        if len(owners.get(target, ())) == 1:
            return next(iter(owners[target]))
    if "/__pycache__/" in path:
        # /usr/lib/python3.13/__pycache__/os.cpython-313.pyc belongs with /usr/lib/python3.13/os.py
        directory, _, compiled = path.partition("/__pycache__/")
        source = f"{directory}/{compiled.split('.', 1)[0]}.py"
        if len(owners.get(source, ())) == 1:
            return next(iter(owners[source]))
    parent = os.path.dirname(path)
    while parent not in ("/", ""):
        if len(owners.get(parent, ())) == 1:
            return next(iter(owners[parent]))
        parent = os.path.dirname(parent)
    return None


def _resolve(root: Path, path: str, hops: int = 8) -> str:
    """Where a link inside root leads, as a path inside root (absolute links are read from root, not the host)."""
    for _ in range(hops):
        full = root / path.lstrip("/")
        if not full.is_symlink():
            break
        link = os.readlink(full)
        path = normalize(os.path.normpath(link if link.startswith("/") else os.path.join(os.path.dirname(path), link)))
    return path


def _add_requires(debian: dict[str, DebPackage], rpm_of: dict[str, str], packages: dict[str, RpmPackage]) -> None:
    providers: dict[str, str] = {}
    for deb in debian.values():
        for virtual in deb.provides:
            providers.setdefault(virtual, deb.name)
    for deb in debian.values():
        pkg = packages[rpm_of[deb.name]]
        for alternatives in deb.depends:
            # The first alternative this root has: by name, else by what provides it.
            found = next((a for a in alternatives if a in debian), None) or next(
                (providers[a] for a in alternatives if a in providers), None)
            if found is not None:
                pkg.requires.add(rpm_of[found])
        if deb.essential:
            # Debian never declares a dependency on an Essential package; RPM needs it said.
            packages["basesystem"].requires.add(rpm_of[deb.name])
    for pkg in packages.values():
        if pkg.name not in ("filesystem", "setup", "basesystem", "azurelinux-release"):
            pkg.requires.add("basesystem")
