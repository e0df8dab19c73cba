"""Put the installer, the launcher and the live-only system files into an unpacked live root.

The installer's code goes to /usr/lib/azl-installer (not a Debian package, so not in python's
own path; /usr/bin/azl-installer sets PYTHONPATH) and is precompiled by the live root's own
python, inside the chroot, so the .pyc files match the interpreter that runs them.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from iso.chroot import run_chroot
from iso.pydeps import install_site_packages

REPO = Path(__file__).resolve().parents[1]
CODE_DIR = "usr/lib/azl-installer"  # inside the root
# The launcher runs on the live system as `python3 -m iso.launcher`: only these two files of
# the iso package go there (the rest is build-time code that needs the host).
LAUNCHER_FILES = ("__init__.py", "launcher.py")
OVERLAY = Path(__file__).resolve().parent / "rootfs"
# Overlay files that must be executable; set here rather than trusting the checkout's modes.
EXECUTABLES = ("usr/bin/azl-installer", "usr/lib/systemd/system-generators/azl-live-generator")

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".mypy_cache")


def code_packages(pyproject_text: str) -> list[str]:
    """The top-level packages the project installs (pyproject's packages.find include list),
    so a package added there (ui/, say) reaches the ISO without a change here."""
    config = tomllib.loads(pyproject_text)["tool"]["setuptools"]["packages"]["find"]
    return sorted({pattern.rstrip("*").rstrip(".") for pattern in config["include"]} - {""})


def install_code(root: Path, repo: Path = REPO) -> Path:
    """Copy the installer's packages and the launcher into root; returns the code directory."""
    code = root / CODE_DIR
    if code.exists():
        shutil.rmtree(code)
    code.mkdir(parents=True)
    for package in code_packages((repo / "pyproject.toml").read_text()):
        shutil.copytree(repo / package, code / package, ignore=_IGNORE)
    (code / "iso").mkdir()
    for name in LAUNCHER_FILES:
        shutil.copy2(repo / "iso" / name, code / "iso" / name)
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
