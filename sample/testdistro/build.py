"""Build (or take from the cache) the Azure Linux-shaped test distribution's RPM repository.

Usage: python -m sample.testdistro.build OUTDIR [--cache-dir DIR] [--rebuild]

1. mmdebstrap installs the recipe's Debian packages into a root (cached as a tarball: the slow part);
2. the root gets the test distribution's own files (os-release, grub2 names, EFI vendor directory);
3. its files are split into packages under Azure Linux's names, with Requires from Debian's Depends;
4. rpmbuild writes them and createrepo_c makes the repository (with the installer's comps groups).
The finished repository is cached by a key over the recipe and this builder's code, and OUTDIR
becomes a copy of it (hard links). A second build with nothing changed takes seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sample.testdistro import recipe
from sample.testdistro.customize import customize
from sample.testdistro.rpms import RpmBuildError, build_all
from sample.testdistro.split import split

DEFAULT_CACHE_DIR = Path("/var/cache/azl-installer")
STAMP = ".testdistro-key"
_DPKG_EXCLUDES = ("path-exclude=/usr/share/man/*", "path-exclude=/usr/share/doc/*",
                  "path-include=/usr/share/doc/*/copyright", "path-exclude=/usr/share/locale/*",
                  "path-exclude=/usr/share/info/*")


def _say(message: str) -> None:
    print(f"testdistro: {message}", file=sys.stderr, flush=True)


def builder_sources() -> bytes:
    here = Path(__file__).parent
    return b"".join(p.read_bytes() for p in sorted(here.glob("*.py"))) + comps_file().read_bytes()


def comps_file() -> Path:
    return Path(__file__).resolve().parents[2] / "installer" / "data" / "azurelinux-comps.xml"


def debian_root(rec: recipe.Recipe, cache_dir: Path) -> Path:
    """The mmdebstrap tarball of the recipe's packages: from the cache, or made now."""
    tarball = cache_dir / f"testdistro-debian-{rec.key(b'')}.tar.zst"
    if tarball.is_file():
        _say(f"Debian root from cache: {tarball}")
        return tarball
    partial = tarball.with_name(f".partial-{os.getpid()}-{tarball.name}")
    _say(f"installing {len(rec.packages)} Debian {rec.suite} packages with mmdebstrap (a few minutes)")
    try:
        subprocess.run(["mmdebstrap", "--mode=root", "--variant=apt", "--arch=amd64", "--quiet",
                        f"--include={','.join(rec.packages)}", "--aptopt=APT::Install-Recommends \"false\"",
                        *(f"--dpkgopt={o}" for o in _DPKG_EXCLUDES), rec.suite, str(partial)], check=True)
        os.replace(partial, tarball)
    finally:
        partial.unlink(missing_ok=True)
    for old in cache_dir.glob("testdistro-debian-*.tar.zst"):
        if old != tarball:
            old.unlink()
    return tarball


def build_repo(rec: recipe.Recipe, cache_dir: Path, work: Path) -> Path:
    """The finished repository in the cache (built now if its key is not there)."""
    key = rec.key(builder_sources())
    repo = cache_dir / f"testdistro-repo-{key}"
    if (repo / "repodata/repomd.xml").is_file():
        _say(f"repository from cache: {repo}")
        return repo
    tarball = debian_root(rec, cache_dir)
    work = work.resolve()  # rpmbuild runs in directories of its own: every path it gets is absolute
    partial = repo.with_name(f".partial-{os.getpid()}-{repo.name}")
    try:
        _build(tarball, work, partial, key)
        os.replace(partial, repo)
    finally:
        # Scratch space (a few GB of hard links and stages), also when a build fails or is interrupted.
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    for old in cache_dir.glob("testdistro-repo-*"):
        if old != repo:
            shutil.rmtree(old, ignore_errors=True)
    return repo


def _build(tarball: Path, work: Path, partial: Path, key: str) -> None:
    """The repository at partial, from the Debian root tarball, with scratch space in work."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(partial, ignore_errors=True)
    root = work / "root"
    root.mkdir(parents=True)
    subprocess.run(["tar", "--zstd", "-xpf", str(tarball), "-C", str(root), "--numeric-owner",
                    "--xattrs", "--xattrs-include=*"], check=True)
    added = customize(root)
    packages = split(root, added)
    kernel_versions = [p.name for p in (root / "usr/lib/modules").iterdir()]
    packages["kernel"].posttrans = "\n".join(f"/usr/sbin/depmod -a {v}" for v in kernel_versions)
    packages["setup"].lua_posttrans = _setup_owners(root, packages["setup"].paths)
    # As Fedora's glibc: the loader's cache follows every library a transaction adds (dracut reads it to
    # find libraries that programs open at run time, such as udev's libkmod).
    packages["glibc"].file_trigger = ("/usr/lib /usr/lib64", "/usr/sbin/ldconfig")
    left_out = packages["filesystem"].left_out
    _say(f"left out {len(left_out)} files that maintainer scripts made and no package explains: "
         + ", ".join(sorted(left_out)[:12]) + (" ..." if len(left_out) > 12 else ""))
    _say(f"{len(packages)} packages from {sum(len(p.debian) for p in packages.values())} Debian packages")
    build_all(packages, root, work, partial / "Packages", _say)
    subprocess.run(["createrepo_c", "-q", "-g", str(comps_file()), str(partial)], check=True)
    (partial / STAMP).write_text(key + "\n")
    (partial / ".left-out").write_text("".join(f"{path}\n" for path in sorted(left_out)))


def _setup_owners(root: Path, paths: set[str]) -> str:
    """setup is the first package installed: while it goes in, the target has no /etc/group yet, so rpm
    gives its files to root. It sets their owners by name once the transaction is done."""
    groups = {int(f[2]): f[0] for f in (line.split(":") for line in (root / "etc/group").read_text().splitlines())}
    lines = []
    for path in sorted(paths):
        info = (root / path.lstrip("/")).lstat()
        if info.st_gid != 0 and info.st_uid == 0:
            lines.append(f'posix.chown("{path}", "root", "{groups[info.st_gid]}")')
    return "\n".join(lines) or "-- nothing to do"


def publish(repo: Path, out: Path) -> None:
    """out becomes a copy of repo (hard links when on one filesystem): the ISO and tests read it there."""
    if (out / STAMP).is_file() and (out / STAMP).read_text() == (repo / STAMP).read_text():
        return
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-al" if os.stat(repo).st_dev == os.stat(out.parent).st_dev else "-a", str(repo), str(out)],
                   check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sample.testdistro.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="where the repository goes (a directory, replaced)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    parser.add_argument("--rebuild", action="store_true", help="ignore the cached repository (not the Debian root)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    rec = recipe.Recipe()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    if args.rebuild:
        shutil.rmtree(args.cache_dir / f"testdistro-repo-{rec.key(builder_sources())}", ignore_errors=True)
    try:
        repo = build_repo(rec, args.cache_dir, args.cache_dir / f"testdistro-work-{os.getpid()}")
    except (RpmBuildError, subprocess.CalledProcessError, OSError) as err:
        print(f"testdistro: build failed: {err}", file=sys.stderr)
        return 1
    publish(repo, args.out)
    count = len(list((args.out / "Packages").glob("*.rpm")))
    _say(f"{count} packages in {args.out} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
