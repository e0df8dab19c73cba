"""azl-installer as two noarch RPMs (`make rpm`, or `python -m iso.rpmbuild --out DIR`): the installer
with its bundled Python libraries, and azl-installer-live, the live medium's glue, built by rpmbuild from
iso/rpm/azl-installer.spec.

The build writes into a private rpmbuild tree (DIR/rpmbuild) the source tarball (the installer's
packages as this python imports them, the launcher, iso/rootfs less the image configuration), the
bundle of Python libraries and the spec's generated `Provides: bundled(python3dist(...))` lines,
then runs `rpmbuild -bb` and copies the two RPMs to DIR.

The bundle is what iso/pydeps.py computes for the Debian live root (the installed azl-installer's
requirements and all they pull in, at the versions installed here) less what the Fedora family
ships as RPMs (SYSTEM_PROVIDED). Every library in it must be pure Python, so the package stays
noarch: pip only takes `py3-none-any` wheels for the target's python, and a library without one
fails the build, named. The bundle is cached in the cache directory, keyed by the pins.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from iso.chroot import BuildError
from iso.customize import CODE_PACKAGES, EXECUTABLES, ISO_DIR, LAUNCHER_FILES, OVERLAY, package_dir
from iso.liveroot import DEFAULT_CACHE_DIR
from iso.pydeps import (
    DISTRIBUTION,
    INSTALLED,
    SOURCE_ONLY,
    UNUSED_DAYS,
    Environment,
    cache_key,
    constraints,
    normalize,
    runtime_requirements,
)

SPEC = ISO_DIR / "rpm" / "azl-installer.spec"
RPMLINTRC = ISO_DIR / "rpm" / "azl-installer.rpmlintrc"
DIST = ".azl4"
TARGET_PYTHON = "3.13"  # the oldest python the RPMs run on (the test distribution's; Azure Linux 4.0 has 3.14)
# Python libraries that Azure Linux (and the test distribution) ship as RPMs: the spec Requires their
# python3-* package (compiled ones: they could not be bundled in a noarch package anyway). cffi and
# pycparser come with python3-cryptography.
SYSTEM_PROVIDED = ("pyyaml", "pyparted", "cryptography", "cffi", "pycparser")
# iso/rootfs files that are the live image's configuration, written by the image build: not packaged.
IMAGE_CONFIG = ("etc/hostname", "etc/hosts", "etc/cloud/cloud-init.disabled")
# The License tag while pyproject.toml declares none (an SPDX user-defined reference).
LICENSE_UNSET = "LicenseRef-azl-installer-undeclared"
BUNDLE_PREFIX = "rpm-site-packages-"  # cache entries: BUNDLE_PREFIX + key + .tar.gz
BUNDLE_FORMAT = 2  # part of the cache key: bump it when what cached_bundle makes of pip's output changes
# Written by pip into --target but not modules: console scripts (made for this host's python) and man pages.
_NOT_MODULES = {"bin", "share"}
_CODE_SKIP = frozenset({"__pycache__", "tests", ".mypy_cache"})  # as iso/customize.py copies the code
# A library's own test suite is no part of what runs (a certifi release on PyPI put certifi/tests into its
# wheel, and the pins follow the venv): none goes into the package.
_BUNDLE_SKIP = frozenset({"__pycache__", "tests"})
_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")

Call = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def _call(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run argv, output captured (stdout and stderr together), never raising for its exit code."""
    print(f"+ {shlex.join(argv)}", file=sys.stderr, flush=True)
    return subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)


def _last_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error")]  # pip's "ERROR:", rpmbuild's "error:"
    return (errors or lines or ["no output"])[-1]


def _checked(call: Call, argv: Sequence[str], what: str) -> str:
    """argv's output; a failure prints the output's end and raises one line."""
    proc = call(argv)
    if proc.returncode != 0:
        print("\n".join(proc.stdout.strip().splitlines()[-20:]), file=sys.stderr)
        raise BuildError(f"{what} failed (exit code {proc.returncode}): {_last_error(proc.stdout)}")
    return proc.stdout


# ---- what is bundled ----

def bundle_pins(env: Environment = INSTALLED) -> list[str]:
    """NAME==VERSION of every library to bundle: the installed distribution's runtime dependencies and
    all they pull in, at the versions installed here, less SYSTEM_PROVIDED."""
    unpinned = [r for r in runtime_requirements(env, SYSTEM_PROVIDED) if "==" not in r]
    if unpinned:
        raise BuildError(f"{', '.join(unpinned)} not installed in this python ({sys.executable}): the bundle takes "
                         "the installed versions; run `make setup`")
    return constraints(env, SYSTEM_PROVIDED)


def bundled_provides(pins: Iterable[str]) -> str:
    """The spec's Provides lines (Source2) for the bundled libraries."""
    lines = ["# Generated by iso/rpmbuild.py from the bundle's pins: the libraries in site-packages."]
    for pin in sorted(pins):
        name, _, version = pin.partition("==")
        lines.append(f"Provides:       bundled(python3dist({normalize(name)})) = {version}")
    return "\n".join(lines) + "\n"


def not_pure(wheel_tags: Iterable[str]) -> list[str]:
    """The tags (a wheel's `Tag:` lines, PYTHON-ABI-PLATFORM) that name an ABI or a platform."""
    return [tag for tag in wheel_tags if not tag.endswith("-none-any")]


def check_pure(site: Path) -> None:
    """Every distribution pip installed into site must come from a pure-Python wheel."""
    for wheel in sorted(site.glob("*.dist-info/WHEEL")):
        text = wheel.read_text()
        tags = re.findall(r"^Tag:\s*(\S+)", text, re.MULTILINE)
        if not_pure(tags) or re.search(r"^Root-Is-Purelib:\s*false", text, re.MULTILINE | re.IGNORECASE):
            name = wheel.parent.name.removesuffix(".dist-info")
            raise BuildError(f"{name} is not pure Python (wheel tags {', '.join(tags)}): a noarch package cannot "
                             "bundle it")


def pip_install_argv(pins: Iterable[str], target: Path, wheels: Path) -> list[str]:
    # --no-deps: pins is the whole closure already, and pip would otherwise pull in cryptography and
    # cffi (SYSTEM_PROVIDED). The platform options make pip take only wheels for any platform and any
    # python implementation of version TARGET_PYTHON, whatever python runs pip.
    return [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            "--no-deps", "--only-binary=:all:", "--platform", "any", "--implementation", "py",
            "--python-version", TARGET_PYTHON, "--find-links", str(wheels), "--target", str(target), *sorted(pins)]


def pip_wheel_argv(pins: Iterable[str], wheels: Path) -> list[str]:
    """Wheels built here for SOURCE_ONLY libraries (pure Python, published as source only)."""
    return [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
            "--wheel-dir", str(wheels), *sorted(pins)]


def install_bundle(pins: Sequence[str], target: Path, work: Path, call: Call = _call) -> None:
    """pip installs pins into target (pure wheels only; SOURCE_ONLY ones built into wheels first)."""
    wheels = work / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    source_only = [pin for pin in pins if pin.partition("==")[0] in SOURCE_ONLY]
    if source_only:
        _checked(call, pip_wheel_argv(source_only, wheels), "pip wheel")
    proc = call(pip_install_argv(pins, target, wheels))
    if proc.returncode != 0:
        missing = _NO_MATCH.search(proc.stdout)
        if missing:
            raise BuildError(f"{missing[1]} has no pure-Python wheel (py3-none-any) for python {TARGET_PYTHON}: a "
                             "noarch package cannot bundle it; package it as an RPM and add it to SYSTEM_PROVIDED")
        print("\n".join(proc.stdout.strip().splitlines()[-20:]), file=sys.stderr)
        raise BuildError(f"pip install failed (exit code {proc.returncode}): {_last_error(proc.stdout)}")
    check_pure(target)
    _as_packaged(target)


def _as_packaged(site: Path) -> None:
    # As Fedora's pyproject macros leave a packaged library: no RECORD (its list and hashes name the
    # console scripts left out here, and pip must not uninstall files the RPM owns), INSTALLER "rpm".
    for dist_info in site.glob("*.dist-info"):
        (dist_info / "RECORD").unlink(missing_ok=True)
        (dist_info / "INSTALLER").write_text("rpm\n")


def _tar_filter(mode_of: Callable[[str], int], skip: frozenset[str] = frozenset({"__pycache__"})
                ) -> Callable[[tarfile.TarInfo], tarfile.TarInfo | None]:
    def owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if skip & set(Path(info.name).parts) or info.name.endswith(".pyc"):
            return None
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mode = 0o755 if info.isdir() else mode_of(info.name)
        return info
    return owned_by_root


def _plain(_name: str) -> int:
    return 0o644


def cached_bundle(cache_dir: Path, pins: Sequence[str], call: Call = _call) -> Path:
    """The bundle as a tarball (top directory site-packages/), from the cache or made by pip now."""
    key = cache_key(pins, [f"target-python{TARGET_PYTHON}", f"format{BUNDLE_FORMAT}"])
    bundle = cache_dir / f"{BUNDLE_PREFIX}{key}.tar.gz"
    if bundle.is_file():
        print(f"rpm: bundled Python libraries from cache: {bundle}", file=sys.stderr)
    else:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".rpm-bundle-", dir=cache_dir) as work:
            site = Path(work) / "site-packages"
            install_bundle(pins, site, Path(work), call)
            partial = Path(work) / bundle.name
            with tarfile.open(partial, "w:gz") as tar:
                for entry in sorted(site.iterdir()):
                    if entry.name not in _NOT_MODULES:
                        tar.add(entry, arcname=f"site-packages/{entry.name}", filter=_tar_filter(_plain, _BUNDLE_SKIP))
            partial.rename(bundle)
    _prune(cache_dir, keep=bundle)
    return bundle


def _prune(cache_dir: Path, keep: Path, now: float | None = None) -> None:
    # As pydeps does for the live root's sets: bundles nobody used for UNUSED_DAYS go.
    os.utime(keep)
    cutoff = (now if now is not None else time.time()) - UNUSED_DAYS * 86400
    for old in cache_dir.glob(f"{BUNDLE_PREFIX}*.tar.gz"):
        if old != keep and old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)


# ---- the sources ----

def project_version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as err:
        raise BuildError(f"{DISTRIBUTION} is not installed in this python: run `make setup`") from err


def project_license() -> str:
    try:
        metadata = importlib.metadata.metadata(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return LICENSE_UNSET
    declared = [v for k in ("License-Expression", "License") for v in metadata.get_all(k) or [] if v != "UNKNOWN"]
    return declared[0] if declared else LICENSE_UNSET


def packaged_rootfs(overlay: Path = OVERLAY) -> list[str]:
    """The iso/rootfs files the live package holds (relative paths): all but IMAGE_CONFIG."""
    files = (p.relative_to(overlay).as_posix() for p in overlay.rglob("*") if p.is_file())
    return sorted(f for f in files if f not in IMAGE_CONFIG)


def source_tarball(dest: Path, version: str) -> Path:
    """NAME-VERSION.tar.gz: the installer's packages, the launcher, rootfs/ (the live files), README.md."""
    top = f"{DISTRIBUTION}-{version}"
    path = dest / f"{top}.tar.gz"
    code = _tar_filter(_plain, _CODE_SKIP)
    rootfs = _tar_filter(lambda name: 0o755 if name.partition("/rootfs/")[2] in EXECUTABLES else 0o644)
    with tarfile.open(path, "w:gz") as tar:
        for package in CODE_PACKAGES:
            tar.add(package_dir(package), arcname=f"{top}/{package}", filter=code)
        for name in LAUNCHER_FILES:
            tar.add(ISO_DIR / name, arcname=f"{top}/iso/{name}", filter=code)
        for relative in packaged_rootfs():
            tar.add(OVERLAY / relative, arcname=f"{top}/rootfs/{relative}", filter=rootfs)
        readme = ISO_DIR.parent / "README.md"
        if readme.is_file():
            tar.add(readme, arcname=f"{top}/README.md", filter=code)
        else:  # an installed wheel, without the checkout's README: its summary stands in
            data = f"# {DISTRIBUTION}\n\n{importlib.metadata.metadata(DISTRIBUTION)['Summary']}\n".encode()
            info = tarfile.TarInfo(f"{top}/README.md")
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return path


# ---- rpmbuild ----

def rpmbuild_argv(topdir: Path, version: str, license_: str, spec: Path = SPEC) -> list[str]:
    return ["rpmbuild", "-bb", "--define", f"_topdir {topdir}", "--define", f"dist {DIST}",
            "--define", f"azl_version {version}", "--define", f"azl_license {license_}", str(spec)]


def build_rpms(out_dir: Path, cache_dir: Path = DEFAULT_CACHE_DIR, call: Call = _call) -> list[Path]:
    """Build azl-installer and azl-installer-live into out_dir; returns the two .rpm paths."""
    if shutil.which("rpmbuild") is None:
        raise BuildError("rpmbuild not found: install rpm (Debian: apt-get install rpm; Fedora: dnf install rpm-build)")
    start = time.monotonic()
    version = project_version()
    pins = bundle_pins()
    bundle = cached_bundle(cache_dir, pins, call)
    topdir = (out_dir / "rpmbuild").resolve()
    shutil.rmtree(topdir, ignore_errors=True)
    sources = topdir / "SOURCES"
    sources.mkdir(parents=True)
    source_tarball(sources, version)
    shutil.copyfile(bundle, sources / f"{DISTRIBUTION}-{version}-site-packages.tar.gz")
    (sources / f"{DISTRIBUTION}-bundled-provides.inc").write_text(bundled_provides(pins))
    _checked(call, rpmbuild_argv(topdir, version, project_license()), "rpmbuild")
    built = sorted((topdir / "RPMS" / "noarch").glob(f"{DISTRIBUTION}*.rpm"))
    if len(built) != 2:
        raise BuildError(f"rpmbuild made {len(built)} packages, not 2: {', '.join(p.name for p in built)}")
    for old in out_dir.glob(f"{DISTRIBUTION}*.rpm"):
        old.unlink()
    results = [Path(shutil.copy2(rpm, out_dir / rpm.name)) for rpm in built]
    print(f"rpm: {', '.join(p.name for p in results)} in {out_dir} ({time.monotonic() - start:.1f} s)",
          file=sys.stderr)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iso.rpmbuild", description=__doc__.split("\n")[0] if __doc__
                                     else None)
    parser.add_argument("--out", type=Path, required=True, help="the directory to write the two RPMs into")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR,
                        help=f"where the bundled Python libraries are cached (default: {DEFAULT_CACHE_DIR})")
    args = parser.parse_args(argv)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        for rpm in build_rpms(args.out, args.cache_dir):
            print(rpm)
    except (BuildError, OSError) as err:
        print(f"rpm: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
