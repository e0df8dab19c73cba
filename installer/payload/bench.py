"""A baseline for benchmarks: the bare dnf --installroot command the payload step wraps.

It runs dnf directly (no Runner, no output parsing, no comps repository), with the flags of
the working command in FACTS.md, so a benchmark can show what the payload step adds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from installer.payload.dnf import DNF_CONFIG, RPM_DBPATH


def bare_dnf_seconds(repo_url: str, packages: list[str], workdir: Path) -> float:
    """Seconds one bare dnf run takes to install packages (names or @groups) into a fresh root."""
    workdir = workdir.resolve()
    root, home, cache = workdir / "bare-root", workdir / "bare-home", workdir / "bare-cache"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    home.mkdir(parents=True, exist_ok=True)
    (home / ".rpmmacros").write_text(f"%_dbpath {RPM_DBPATH}\n")
    config = workdir / "bare-dnf.conf"
    config.write_text(DNF_CONFIG)
    argv = [
        "dnf", "-y", f"--config={config}", f"--installroot={root}", "--releasever=4.0",
        "--setopt=reposdir=/nonexistent", "--disablerepo=*",
        f"--repofrompath=payload,{repo_url}", "--enablerepo=payload", "--nogpgcheck",
        "--setopt=install_weak_deps=False", f"--setopt=cachedir={cache}",
        "install", *packages,
    ]  # fmt: skip
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "HOME": str(home), "LC_ALL": "C.UTF-8"}
    start = time.monotonic()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError(f"bare dnf failed with exit code {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return elapsed
