"""A Debian sid root with dnf5: the installer system that the dnf5 payload tests find dnf on.

Debian 12 has no dnf5; sid has (with rpm 6 and createrepo-c). mmdebstrap builds the root once,
with no mirror argument (the machine's own default), and it is cached as a tarball in
/var/cache/azl-installer named by the recipe's hash, as the ISO's live root is (iso/liveroot.py):
built under a temporary name and renamed when complete, older roots pruned. A lock lets parallel
test workers build it once.

ChrootRunner runs the installer system's package tools (dnf5, dnf, rpm, createrepo_c) in that root
and everything else on the host: the payload code under test is the product's own, only the
system it finds dnf on differs. Each such command gets a private mount namespace (unshare) in
which the host directories a test shares (the target root and workdir, the repository) are
bind-mounted at the same paths, and /proc is mounted; all of it goes with the command, also when
it fails or is killed, so nothing is ever left mounted on the host.

Usage: python -m tests.support.dnf5_root   (build, or find, the cached tarball: `make dnf5-root`)
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from installer.core.runner import Arg, CommandResult, LineCallback, Runner

CACHE_DIR = Path("/var/cache/azl-installer")
SUITE = "sid"
PACKAGES = ("dnf5", "rpm", "createrepo-c")
# Bump when anything below changes how the root is built: it is part of the cache key.
RECIPE_VERSION = 1
APT_OPTIONS = (
    'APT::Install-Recommends "false"',
    # The machine's clock can be past sid's Release file's Valid-Until (seen: "expired, invalid since
    # 24d"); stable suites carry none. A test root only: no security updates are missed by this.
    'Acquire::Check-Valid-Until "false"',
)
DPKG_OPTIONS = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
)
# The installer system's package tools; all else (tar, mount ...) runs on the host.
ROUTED = ("dnf5", "dnf", "rpm", "createrepo_c")


class BuildError(Exception):
    """mmdebstrap failed; the message holds its command line and the end of its output."""


def cache_key(packages: Sequence[str] = PACKAGES, version: int = RECIPE_VERSION) -> str:
    """Names a sid root of these packages (this module's, or another test root's made the same way)."""
    data = {"suite": SUITE, "packages": sorted(packages), "apt": APT_OPTIONS, "dpkg": DPKG_OPTIONS,
            "version": version}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def tarball_name() -> str:
    return f"dnf5-root-{SUITE}-{cache_key()}.tar.zst"


def mmdebstrap_argv(out: Path, packages: Sequence[str] = PACKAGES) -> list[str]:
    return [
        "mmdebstrap", "--mode=root", "--variant=apt", f"--include={','.join(packages)}",
        *(f"--aptopt={option}" for option in APT_OPTIONS),
        *(f"--dpkgopt={option}" for option in DPKG_OPTIONS),
        SUITE, str(out),
    ]  # fmt: skip


def run_mmdebstrap(argv: Sequence[str], what: str, out: Path) -> None:
    """Run mmdebstrap (argv from mmdebstrap_argv), saying how long it took; BuildError with its output's end."""
    start = time.monotonic()
    proc = subprocess.run(list(argv), stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise BuildError(f"command failed with exit code {proc.returncode}: {shlex.join(argv)}\n{tail}")
    print(f"{what} built in {time.monotonic() - start:.0f} s: {out}", file=sys.stderr)


def cached_tarball(cache_dir: Path = CACHE_DIR) -> Path:
    """The root's tarball: from the cache, or built now (about a minute) and cached."""
    tarball = cache_dir / tarball_name()
    if tarball.is_file():
        return tarball
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".dnf5-root.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be building it: wait, then reuse
        if tarball.is_file():
            return tarball
        partial = cache_dir / f".partial-{os.getpid()}-{tarball.name}"
        argv = mmdebstrap_argv(partial)
        print(f"dnf5 root: building {tarball.name} with mmdebstrap (once, about a minute)", file=sys.stderr)
        try:
            run_mmdebstrap(argv, "dnf5 root", tarball)
            os.replace(partial, tarball)
        finally:
            partial.unlink(missing_ok=True)
    for old in cache_dir.glob(f"dnf5-root-{SUITE}-*.tar.zst"):
        if old != tarball:
            old.unlink(missing_ok=True)
    return tarball


def unpack(tarball: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "--zstd", "-xpf", str(tarball), "-C", str(dest), "--numeric-owner"], check=True)
    return dest


def chroot_prefix(root: Path, shared: Sequence[Path]) -> list[str]:
    """The command prefix that runs a program in root, with shared host directories at their own paths."""
    # --rbind: a filesystem mounted below a shared directory (a target root) is seen too, as on the real system.
    steps = [f'mkdir -p "$0"{shlex.quote(str(d))} && mount --rbind {shlex.quote(str(d))} "$0"{shlex.quote(str(d))}'
             for d in shared]
    steps += ['mount -t proc proc "$0/proc"', 'exec chroot "$0" "$@"']
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", " && ".join(steps), str(root)]


@dataclass(frozen=True)
class ChrootRunner:
    """A Runner whose package tools are the sid root's (see the module docstring)."""

    inner: Runner
    root: Path
    shared: tuple[Path, ...]

    def run(
        self,
        argv: Sequence[Arg],
        *,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        stdin_text: str | None = None,
        on_line: LineCallback | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        args: list[Arg] = list(argv)
        if args and os.fspath(args[0]) in ROUTED:
            args = [*chroot_prefix(self.root, self.shared), *args]
        return self.inner.run(args, check=check, env=env, stdin_text=stdin_text, on_line=on_line, timeout=timeout)


def main() -> int:
    try:
        print(cached_tarball())
    except BuildError as error:
        print(f"dnf5_root: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
