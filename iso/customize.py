"""Put the installer, the launcher and the live-only system files into an unpacked live root.

The installer's code goes to /usr/lib/azl-installer (not a Debian package, so not in python's
own path; /usr/bin/azl-installer sets PYTHONPATH) and is precompiled by the live root's own
python, inside the chroot, so the .pyc files match the interpreter that runs them.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from iso.chroot import run_chroot
from iso.pydeps import install_site_packages

CODE_DIR = "usr/lib/azl-installer"  # inside the root
# The packages the installer runs from (tests/unit/test_iso_build.py checks that these, with the
# build-time iso and sample, are exactly what pyproject.toml ships). Each is copied from where this
# python imports it: an installed wheel, or a checkout run with `python -m`.
CODE_PACKAGES = ("installer", "profiles", "storage", "ui")
# The launcher runs on the live system as `python3 -m iso.launcher`: only these two files of
# the iso package go there (the rest is build-time code that needs the host).
LAUNCHER_FILES = ("__init__.py", "launcher.py")
ISO_DIR = Path(__file__).resolve().parent
OVERLAY = ISO_DIR / "rootfs"
# Overlay files that must be executable; set here rather than trusting the checkout's modes.
EXECUTABLES = ("usr/bin/azl-installer", "usr/lib/systemd/system-generators/azl-live-generator")

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".mypy_cache")


def package_dir(name: str) -> Path:
    """The directory python imports package `name` from."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the installer's package {name} cannot be imported here")
    return Path(next(iter(spec.submodule_search_locations)))


def install_code(root: Path) -> Path:
    """Copy the installer's packages and the launcher into root; returns the code directory."""
    code = root / CODE_DIR
    if code.exists():
        shutil.rmtree(code)
    code.mkdir(parents=True)
    for package in CODE_PACKAGES:
        shutil.copytree(package_dir(package), code / package, ignore=_IGNORE)
    (code / "iso").mkdir()
    for name in LAUNCHER_FILES:
        shutil.copy2(ISO_DIR / name, code / "iso" / name)
    return code


def install_overlay(root: Path, overlay: Path = OVERLAY) -> list[Path]:
    """Copy iso/rootfs over root (files only, directories are created); returns what was written."""
    written: list[Path] = []
    for source in sorted(overlay.rglob("*")):
        if source.is_dir():
            continue
        relative = source.relative_to(overlay)
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():  # e.g. a package's symlink: replace it, never write through it
            target.unlink()
        shutil.copyfile(source, target)
        target.chmod(0o755 if relative.as_posix() in EXECUTABLES else 0o644)
        written.append(target)
    return written


def compile_code(root: Path) -> None:
    run_chroot(root, ["python3", "-m", "compileall", "-q", "-j", "0", f"/{CODE_DIR}"], quiet=True)


def smoke_test(root: Path) -> None:
    """The installer must import on the live python with what the root has: `schema` loads the
    whole command line (engine, storage, payloads). A missing dependency fails the build here,
    not minutes into a VM boot."""
    run_chroot(root, ["/usr/bin/azl-installer", "schema"], quiet=True)


def customize(root: Path, site_packages: Path) -> None:
    """site_packages: the installer's PyPI dependencies (pydeps.cached_site_packages)."""
    install_code(root)
    install_site_packages(root, site_packages)
    install_overlay(root)
    compile_code(root)
    smoke_test(root)
