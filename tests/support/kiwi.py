"""Debian's KIWI, run on an image description: the check that iso/kiwi/config.kiwi is one KIWI accepts.

Debian 12's kiwi (9.24) knows schemaversion 7.5 and no dnf5; Azure Linux builds with KIWI 10.x and
dnf5, and the description is written for schemaversion 8.5, which Debian sid's kiwi (11.1) validates.
So the check runs sid's kiwi in a Debian sid root, made like the dnf5 root (tests/support/dnf5_root.py,
whose mmdebstrap options this reuses): mmdebstrap with no mirror argument, once, under a lock, cached in
/var/cache/azl-installer named by the recipe's hash, older ones pruned. Unlike the dnf5 root it is cached
as a directory, not a tarball: unpacking its 210 MB took 12 s here, longer than everything else the test
does. Nothing writes to it: every command runs in a private mount namespace on an overlayfs over it (the
caller's directory holds the upper layer, so it shows what the command wrote), with the host directories
it needs bind-mounted at their own paths; all of it goes with the command.

The check is KIWI's own code, what `kiwi-ng system build` does before it installs anything:
XMLDescription.load() (the RelaxNG schema and the schematron rules), XMLState, and the RuntimeChecker's
checks that `system build` runs on the description (KIWI's own list, less the two about its target
directory). It needs no network and no repository. Root only (mount, chroot; mmdebstrap the first time).

Usage: python -m tests.support.kiwi DESCRIPTION_DIR...   (check; builds the root the first time)
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.dnf5_root import BuildError, cache_key, mmdebstrap_argv, run_mmdebstrap

CACHE_DIR = Path("/var/cache/azl-installer")
SUITE = "sid"
PACKAGES = ("kiwi",)  # sid's kiwi 11.1: the python module `kiwi`, its schema kiwi.rng, kiwi-ng
# Bump when anything below changes how the root is built: it is part of the cache key.
RECIPE_VERSION = 1

# Runs with the root's python3: the arguments are description directories. Prints one line for each,
# MARKER and a JSON object: what KIWI made of it, or the error KIWI raised, with what KIWI logged meanwhile
# (which KIWI also prints to stdout).
MARKER = "KIWI-CHECK-RESULT "
CHECK_SCRIPT = r"""
import io, json, logging, sys
import lxml.isoschematron  # without it KIWI skips the schematron rules with only a warning
from kiwi.version import __version__
from kiwi.tasks.system_build import SystemBuildTask

for description in sys.argv[1:]:
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    logging.getLogger("kiwi").addHandler(handler)
    sys.argv = ["kiwi-ng", "system", "build", "--description", description, "--target-dir", "/nonexistent"]
    result = {"kiwi": __version__}
    try:
        task = SystemBuildTask(should_perform_task_setup=False)
        task.load_xml_description(description)  # XMLDescription(...).load(): schema, schematron; XMLState
        task.run_checks(task.checks_before_command_args)
        state = task.xml_state
        result.update(
            ok=True,
            checks=sorted(task.checks_before_command_args),
            schemaversion=state.xml_data.get_schemaversion(),
            name=state.xml_data.get_name(),
            packagemanager=state.get_package_manager(),
            build_type=state.get_build_type_name(),
            bootstrap=state.get_bootstrap_packages(),
            image=state.get_system_packages(),
            repositories=[r.get_source().get_path() for r in state.get_repository_sections()],
        )
    except Exception as error:
        result.update(ok=False, error=f"{type(error).__name__}: {error}")
    logging.getLogger("kiwi").removeHandler(handler)
    result["log"] = captured.getvalue()
    print("KIWI-CHECK-RESULT " + json.dumps(result), flush=True)
"""


class KiwiUnavailable(Exception):
    """This host cannot run Debian's KIWI: not root, no mmdebstrap, or the root failed to build."""


def root_name() -> str:
    return f"kiwi-root-{SUITE}-{cache_key(PACKAGES, RECIPE_VERSION)}"


def cached_root(cache_dir: Path = CACHE_DIR) -> Path:
    """The KIWI root: from the cache, or built now (about 70 s) and cached. Never written to afterwards."""
    root = cache_dir / root_name()
    if (root / "usr/bin/kiwi-ng").is_file():
        return root
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".kiwi-root.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be building it: wait, then reuse
        if (root / "usr/bin/kiwi-ng").is_file():
            return root
        partial = cache_dir / f".partial-{os.getpid()}-{root.name}"
        print(f"kiwi root: building {root.name} with mmdebstrap (once, about 70 s)", file=sys.stderr)
        try:
            run_mmdebstrap(mmdebstrap_argv(partial, PACKAGES), "kiwi root", root)
            shutil.rmtree(root, ignore_errors=True)  # an incomplete one (no kiwi-ng in it)
            os.replace(partial, root)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    for old in cache_dir.glob(f"kiwi-root-{SUITE}-*"):
        if old != root:
            shutil.rmtree(old, ignore_errors=True)
    return root


def available_root(cache_dir: Path = CACHE_DIR) -> Path:
    """The KIWI root, built if need be; KiwiUnavailable says why this host cannot have one."""
    if os.geteuid() != 0:
        raise KiwiUnavailable("Debian's KIWI runs in a Debian sid root (mmdebstrap, mount, chroot): needs root")
    if not (cache_dir / root_name()).is_dir() and shutil.which("mmdebstrap") is None:
        raise KiwiUnavailable("mmdebstrap is not installed (scripts/setup-host.sh installs it)")
    try:
        return cached_root(cache_dir)
    except BuildError as error:
        raise KiwiUnavailable(f"could not build the Debian sid root with KIWI: {error}") from error


def overlay_prefix(root: Path, layer: Path, shared: Sequence[Path]) -> list[str]:
    """The command prefix that runs a program chrooted in an overlayfs over root, whose upper layer is
    layer/upper (it may hold files beforehand), with the shared host directories at their own paths."""
    upper, work, merged = layer / "upper", layer / "work", layer / "merged"
    for directory in (upper, work, merged):
        directory.mkdir(parents=True, exist_ok=True)
    q = shlex.quote
    steps = [f"mount -t overlay overlay -o lowerdir={q(str(root))},upperdir={q(str(upper))},workdir={q(str(work))} "
             f'"$0"']
    steps += ['mount -t proc proc "$0/proc"', 'mount -t tmpfs tmpfs "$0/tmp"']  # before the binds: /tmp/... too
    steps += [f'mkdir -p "$0"{q(str(d))} && mount --rbind {q(str(d))} "$0"{q(str(d))}' for d in shared]
    steps += ['exec chroot "$0" "$@"']
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", " && ".join(steps), str(merged)]


@dataclass(frozen=True)
class KiwiCheck:
    """What KIWI made of one description: ok, or the error it raised; facts as KIWI reports them."""

    ok: bool
    kiwi: str
    error: str
    log: str
    facts: dict[str, Any]


def check_descriptions(root: Path, descriptions: Sequence[Path]) -> list[KiwiCheck]:
    """Load and check each description directory (holding config.kiwi) with the KIWI in root, in one run."""
    paths = [d.resolve() for d in descriptions]
    with tempfile.TemporaryDirectory(prefix="kiwi-check-") as layer:
        argv = [*overlay_prefix(root, Path(layer), paths), "python3", "-c", CHECK_SCRIPT, *map(str, paths)]
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
                              timeout=300)
    lines = [line.removeprefix(MARKER) for line in proc.stdout.splitlines() if line.startswith(MARKER)]
    if proc.returncode != 0 or len(lines) != len(paths):
        raise RuntimeError(f"the KIWI check did not run (exit code {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    results = []
    for line in lines:
        data = json.loads(line)
        facts = {k: v for k, v in data.items() if k not in ("ok", "kiwi", "error", "log")}
        results.append(KiwiCheck(ok=data["ok"], kiwi=data["kiwi"], error=data.get("error", ""), log=data["log"],
                                 facts=facts))
    return results


def run_config_script(root: Path, layer: Path, script: Path) -> subprocess.CompletedProcess[str]:
    """Run an image description's config.sh as KIWI does (as /image/config.sh, chrooted, after the packages)
    in an overlay over root whose upper layer is layer/upper: put files there first, read what it wrote."""
    target = layer / "upper" / "image" / "config.sh"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(script, target)
    return subprocess.run([*overlay_prefix(root, layer, []), "/image/config.sh"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, check=False, timeout=120)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m tests.support.kiwi DESCRIPTION_DIR...", file=sys.stderr)
        return 2
    try:
        results = check_descriptions(available_root(), [Path(a) for a in argv])
    except KiwiUnavailable as error:
        print(f"kiwi: {error}", file=sys.stderr)
        return 1
    for path, result in zip(argv, results, strict=True):
        print(json.dumps({"description": path, "ok": result.ok, "kiwi": result.kiwi, "error": result.error,
                          **result.facts}, indent=2))
        if not result.ok:
            print(result.log, file=sys.stderr)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
