"""The installer's Python dependencies that Debian does not package (at the versions needed),
installed from PyPI into the live root by the host's pip and cached like the root itself.

The list comes from pyproject.toml's [project] dependencies, pinned to the versions in
requirements-dev.txt (the ones the tests ran with). Those Debian provides in the live root
(python3-yaml, python3-parted, built for its python) are left out. The host's python is the
live root's (same Debian suite), so pip picks wheels that run there; --only-binary keeps
compilers out of it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

from iso.chroot import run

REPO = Path(__file__).resolve().parents[1]
SITE_DIR = "usr/lib/azl-installer/site-packages"  # inside the root; on PYTHONPATH in the wrapper
# PyPI name -> the Debian package in recipe.PACKAGES that provides it
DEBIAN_PROVIDED = {"pyyaml": "python3-yaml", "pyparted": "python3-parted"}

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(requirements_text: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in requirements_text.splitlines():
        requirement = line.split("#", 1)[0].strip()
        name, sep, version = requirement.partition("==")
        if sep and name.strip():
            pins[normalize(name.strip())] = version.strip()
    return pins


def runtime_requirements(pyproject_text: str, requirements_text: str,
                         provided: Iterable[str] = DEBIAN_PROVIDED) -> list[str]:
    """pip requirement strings: each runtime dependency, pinned when requirements pins it."""
    dependencies = tomllib.loads(pyproject_text)["project"].get("dependencies", [])
    pins = _pins(requirements_text)
    skip = {normalize(n) for n in provided}
    wanted: list[str] = []
    for dependency in dependencies:
        match = _NAME.match(dependency)
        if match is None:
            continue
        name = normalize(match.group(1))
        if name in skip:
            continue
        wanted.append(f"{name}=={pins[name]}" if name in pins else dependency.strip())
    return sorted(wanted)


def constraints(requirements_text: str, provided: Iterable[str] = DEBIAN_PROVIDED) -> list[str]:
    """Every pin of requirements-dev.txt as a pip constraint, so that indirect dependencies
    (rich under textual, say) get the versions the tests ran with too."""
    skip = {normalize(n) for n in provided}
    return sorted(f"{name}=={version}" for name, version in _pins(requirements_text).items() if name not in skip)


def cache_key(requirements: Iterable[str], pinned: Iterable[str] = ()) -> str:
    text = "\n".join([f"python{sys.version_info.major}.{sys.version_info.minor}", *sorted(requirements), "--",
                      *sorted(pinned)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def pip_argv(requirements: Iterable[str], target: Path, constraints_file: Path | None = None) -> list[str]:
    # --target installs every dependency into target, whatever the venv running pip has.
    return [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            "--only-binary=:all:", "--target", str(target),
            *(["--constraint", str(constraints_file)] if constraints_file else []), *requirements]


def cached_site_packages(cache_dir: Path, repo: Path = REPO) -> Path:
    """A directory holding the installed dependencies, from the cache or installed by pip now."""
    requirements_text = (repo / "requirements-dev.txt").read_text()
    requirements = runtime_requirements((repo / "pyproject.toml").read_text(), requirements_text)
    pinned = constraints(requirements_text)
    site = cache_dir / f"python-{cache_key(requirements, pinned)}"
    if site.is_dir():
        print(f"iso: python dependencies from cache: {site}", file=sys.stderr)
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
    for old in cache_dir.glob("python-*"):  # older sets are never used again
        if old != site:
            shutil.rmtree(old, ignore_errors=True)
    return site


def install_site_packages(root: Path, site: Path) -> Path:
    target = root / SITE_DIR
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(site, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "bin"))
    return target
