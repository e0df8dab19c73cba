"""The installer's Python dependencies that Debian does not package (at the versions needed),
installed from PyPI into the live root by the host's pip and cached like the root itself.

The list is the installed azl-installer distribution's own dependencies, each at the version
installed in the environment running the build (in a checkout's venv: requirements-dev.txt's
pins, the versions the tests ran with), so a build works the same from a checkout and from an
installed wheel, reading no project file. Every package they pull in is pinned the same way. Those
Debian provides in the live root (python3-yaml, python3-parted, built for its python) are left
out. The host's python is the live root's (same Debian suite), so pip picks wheels that run
there; --only-binary keeps compilers out of it (except for the pure-Python packages PyPI has only as
source, SOURCE_ONLY, which need none).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from iso.chroot import run

DISTRIBUTION = "azl-installer"
SITE_DIR = "usr/lib/azl-installer/site-packages"  # inside the root; on PYTHONPATH in the wrapper
# PyPI name -> the Debian package in recipe.PACKAGES that provides it
DEBIAN_PROVIDED = {"pyyaml": "python3-yaml", "pyparted": "python3-parted"}
# Pure-Python dependencies published on PyPI only as source: built by pip (setuptools, no compiler).
SOURCE_ONLY = ("pykickstart",)
UNUSED_DAYS = 3  # a cached set of dependencies nobody used for this long is removed

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Requirement:
    name: str  # normalized
    extras: frozenset[str]
    only_for_extras: frozenset[str]  # non-empty: needed only when one of these extras is asked for
    text: str


def parse_requirement(text: str) -> Requirement | None:
    """A requirement line as importlib.metadata gives it ('rich (>=14) ; extra == "x"'); None if unreadable."""
    spec, _, marker = text.partition(";")
    match = _REQUIREMENT.match(spec)
    if match is None:
        return None
    extras = frozenset(normalize(e) for e in (match[2] or "").split(",") if e.strip())
    only = frozenset(normalize(e) for e in _EXTRA_MARKER.findall(marker))
    return Requirement(normalize(match[1]), extras, only, text.strip())


def _installed_requires(name: str) -> list[str]:
    try:
        return importlib.metadata.requires(name) or []
    except importlib.metadata.PackageNotFoundError:
        return []


def _installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class Environment:
    """What is read about installed distributions: importlib.metadata by default, dicts in tests."""

    requires: Callable[[str], list[str]] = _installed_requires
    version: Callable[[str], str | None] = _installed_version


INSTALLED = Environment()  # this python's environment (stateless: it only names the two readers)


def runtime_requirements(env: Environment = INSTALLED, provided: Iterable[str] = DEBIAN_PROVIDED,
                         distribution: str = DISTRIBUTION) -> list[str]:
    """pip requirement strings: each runtime dependency, pinned to the version installed here (as
    declared when it is not installed)."""
    skip = {normalize(n) for n in provided}
    wanted: list[str] = []
    for requirement in filter(None, map(parse_requirement, env.requires(distribution))):
        if requirement.name in skip or requirement.only_for_extras:
            continue
        version = env.version(requirement.name)
        wanted.append(f"{requirement.name}=={version}" if version else requirement.text)
    return sorted(wanted)


def constraints(env: Environment = INSTALLED, provided: Iterable[str] = DEBIAN_PROVIDED,
                distribution: str = DISTRIBUTION) -> list[str]:
    """The installed version of everything the runtime dependencies pull in (rich under textual, say),
    as pip constraints, so the live root gets what the tests ran with."""
    skip = {normalize(n) for n in provided}
    pinned: dict[str, str] = {}
    todo = [(distribution, frozenset[str]())]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        for requirement in filter(None, map(parse_requirement, env.requires(name))):
            if requirement.name in skip or (requirement.only_for_extras and not requirement.only_for_extras & extras):
                continue
            version = env.version(requirement.name)
            if version is None:  # not installed here (another platform's or python's dependency)
                continue
            pinned[requirement.name] = version
            todo.append((requirement.name, requirement.extras))
    return sorted(f"{name}=={version}" for name, version in pinned.items())


def cache_key(requirements: Iterable[str], pinned: Iterable[str] = ()) -> str:
    text = "\n".join([f"python{sys.version_info.major}.{sys.version_info.minor}", *sorted(requirements), "--",
                      *sorted(pinned)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def pip_argv(requirements: Iterable[str], target: Path, constraints_file: Path | None = None) -> list[str]:
    # --target installs every dependency into target, whatever the venv running pip has.
    return [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            "--only-binary=:all:", *(f"--no-binary={name}" for name in SOURCE_ONLY), "--target", str(target),
            *(["--constraint", str(constraints_file)] if constraints_file else []), *requirements]


def cached_site_packages(cache_dir: Path, env: Environment = INSTALLED) -> Path:
    """A directory holding the installed dependencies, from the cache or installed by pip now."""
    requirements = runtime_requirements(env)
    pinned = constraints(env)
    site = cache_dir / f"python-{cache_key(requirements, pinned)}"
    if site.is_dir():
        print(f"iso: python dependencies from cache: {site}", file=sys.stderr)
        _prune(cache_dir, keep=site)
        return site
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache_dir / f".partial-{os.getpid()}-{site.name}"
    shutil.rmtree(partial, ignore_errors=True)
    constraints_file = cache_dir / f".constraints-{os.getpid()}.txt"
    constraints_file.write_text("".join(f"{line}\n" for line in pinned))
    try:
        run(pip_argv(requirements, partial, constraints_file), quiet=True)
        partial.rename(site)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        constraints_file.unlink(missing_ok=True)
    _prune(cache_dir, keep=site)
    return site


def _prune(cache_dir: Path, keep: Path, now: float | None = None) -> None:
    # Every checkout (or installed copy) on a machine shares the cache, and each may need a different
    # set: only sets nobody used for UNUSED_DAYS go, never one that a build running now just used
    # (its mtime is refreshed at each use).
    os.utime(keep)
    cutoff = (now if now is not None else time.time()) - UNUSED_DAYS * 86400
    for old in cache_dir.glob("python-*"):
        if old != keep and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)


def install_site_packages(root: Path, site: Path) -> Path:
    target = root / SITE_DIR
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(site, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "bin"))
    return target
