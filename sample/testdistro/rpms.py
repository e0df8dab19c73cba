"""Write the test distribution's packages as RPMs: one spec a package, its files hard-linked from the root.

rpmbuild is told to take the staged tree as it is: no %install (nothing to delete first), no
automatic dependencies (the split already states them), no stripping or byte-compiling, zstd
payloads. Owners are written by name from the ROOT's /etc/passwd and /etc/group, so rpm maps them to
the target's ids at install time, as it does for Azure Linux's own packages.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sample.testdistro import recipe
from sample.testdistro.split import RpmPackage

_RPMBUILD_DEFINES = {
    "_build_id_links": "none",
    "__os_install_post": "%{nil}",
    "__spec_install_post": "%{nil}",
    "__check_files": "%{nil}",
    "debug_package": "%{nil}",
    "_binary_payload": "w3.zstdio",
    "_binaries_in_noarch_packages_terminate_build": "0",
    "_missing_build_ids_terminate_build": "0",
}


class RpmBuildError(RuntimeError):
    pass


def _names(root: Path, table: str) -> dict[int, str]:
    lines = (root / "etc" / table).read_text().splitlines()
    return {int(fields[2]): fields[0] for fields in (line.split(":") for line in lines) if len(fields) > 2}


def _quote(path: str) -> str:
    # rpm expands macros and globs in %files: % doubled, glob characters as one-character classes.
    # A backslash cannot be escaped at all there ("\\x2d" in a unit name): "?" matches it.
    escaped = path.replace("%", "%%").replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")
    return '"' + escaped.replace("\\", "?") + '"'


def _capabilities(root: Path) -> dict[str, str]:
    """File capabilities in root ("/usr/bin/arping" -> "cap_net_raw=ep"): rpm must set them again."""
    result = subprocess.run(["getcap", "-r", str(root)], capture_output=True, text=True, check=False)
    caps = {}
    for line in result.stdout.splitlines():
        path, _, cap = line.rpartition(" ")
        caps[normalize_host(path, root)] = cap.strip()
    return caps


def normalize_host(path: str, root: Path) -> str:
    return "/" + os.path.relpath(path, root)


def file_lines(pkg: RpmPackage, root: Path, users: dict[int, str], groups: dict[int, str],
               caps: dict[str, str]) -> list[str]:
    lines = []
    for path in sorted(pkg.paths):
        info = (root / path.lstrip("/")).lstat()
        owner = f"{users.get(info.st_uid, 'root')},{groups.get(info.st_gid, 'root')}"
        if pkg.lua_posttrans:
            owner = "root,root"  # no /etc/group yet when it goes in: its posttrans sets the groups
        if stat.S_ISDIR(info.st_mode):
            lines.append(f"%dir %attr({stat.S_IMODE(info.st_mode):04o},{owner}) {_quote(path)}")
            continue
        prefix = "%config(noreplace) " if path.startswith("/etc/") and stat.S_ISREG(info.st_mode) else ""
        if path in caps:
            prefix += f"%caps({caps[path]}) "
        lines.append(f"{prefix}%attr(-,{owner}) {_quote(path)}")
    return lines


def spec(pkg: RpmPackage, files: list[str]) -> str:
    head = [
        f"Name: {pkg.name}", f"Version: {pkg.version}", f"Release: 1.{recipe.DIST}",
        f"Summary: {pkg.name} for the azl-installer test distribution (Debian {recipe.SUITE} binaries)",
        "License: see /usr/share/doc/*/copyright", "AutoReqProv: no",
        *(f"Requires: {name}" for name in sorted(pkg.requires)),
        # Installed before it, whatever the loops among Requires: rpm maps file owners by name through
        # the target's /etc/passwd and /etc/group, which setup brings.
        *(["Requires(pre): setup"] if pkg.name != "setup" else []),
        *(f"Provides: {name}" for name in sorted(pkg.provides)),
        "", "%description",
        f"Test distribution package {pkg.name}, carrying Debian's {', '.join(pkg.debian) or 'nothing'}.",
        "Not Azure Linux.",
    ]  # fmt: skip
    if pkg.posttrans:
        head += ["", "%posttrans", pkg.posttrans]
    if pkg.file_trigger:
        head += ["", f"%transfiletriggerin -- {pkg.file_trigger[0]}", pkg.file_trigger[1]]
    if pkg.lua_posttrans:
        head += ["", "%posttrans -p <lua>", pkg.lua_posttrans]
    return "\n".join([*head, "", "%files", *files, ""])


def stage(pkg: RpmPackage, root: Path, into: Path) -> None:
    """pkg's files under into, hard-linked from root (directories and links made anew)."""
    for path in sorted(pkg.paths):
        source, dest = root / path.lstrip("/"), into / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), dest)
        elif source.is_dir():
            dest.mkdir(exist_ok=True)
        else:
            os.link(source, dest)


def build_one(pkg: RpmPackage, root: Path, workdir: Path, outdir: Path, users: dict[int, str],
              groups: dict[int, str], caps: dict[str, str]) -> Path:
    buildroot = workdir / "stage" / pkg.name
    stage(pkg, root, buildroot)
    specfile = workdir / "specs" / f"{pkg.name}.spec"
    specfile.parent.mkdir(parents=True, exist_ok=True)
    specfile.write_text(spec(pkg, file_lines(pkg, root, users, groups, caps)))
    argv = ["rpmbuild", "-bb", "--noclean", "--buildroot", str(buildroot), "--target", "x86_64",
            "--define", f"_rpmdir {outdir}",
            "--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
            "--define", f"_topdir {workdir / 'top'}",
            # rpmbuild opens a database it never needs: keep it in the scratch space, not in ~/.rpmdb.
            "--define", f"_dbpath {workdir / 'rpmdb'}"]
    for name, value in _RPMBUILD_DEFINES.items():
        argv += ["--define", f"{name} {value}"]
    result = subprocess.run([*argv, str(specfile)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RpmBuildError(f"rpmbuild {pkg.name} failed:\n{result.stderr[-3000:]}")
    built = outdir / f"{pkg.name}-{pkg.version}-1.{recipe.DIST}.x86_64.rpm"
    if not built.is_file():
        raise RpmBuildError(f"rpmbuild {pkg.name} wrote no {built.name}")
    return built


def build_all(packages: dict[str, RpmPackage], root: Path, workdir: Path, outdir: Path,
              progress: Callable[[str], None]) -> list[Path]:
    users, groups, caps = _names(root, "passwd"), _names(root, "group"), _capabilities(root)
    outdir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = [pool.submit(build_one, pkg, root, workdir, outdir, users, groups, caps)
                   for pkg in sorted(packages.values(), key=lambda p: -len(p.paths))]
        built = []
        for number, future in enumerate(futures, start=1):
            built.append(future.result())
            if number % 50 == 0 or number == len(futures):
                progress(f"{number}/{len(futures)} packages built")
    return built
