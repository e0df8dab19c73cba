"""Network-booted guests sharing one `azl-installer serve`, two at a time: what tests/vm/test_fleet_vm.py
proves on the real ISO and `make bench`'s fleet part times (4 guests against 1; the fake ISO in its test)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.images import REPO


@dataclass(frozen=True)
class Guest:
    name: str
    options: tuple[str, ...]  # its identity, as `vm` gives it to QEMU (--uuid, --serial, --mac)


@dataclass(frozen=True)
class GuestRun:
    guest: Guest
    done: subprocess.CompletedProcess[str]
    seconds: float
    serial: Path  # its serial console: the network boot and install, then the installed disk's boot


@contextmanager
def running_server(root: Path, results: Path) -> Iterator[tuple[int, list[str]]]:
    """`azl-installer serve` as an operator starts it, on a free loopback port (read from its first line);
    yields the port and, once the block has ended, what the server printed."""
    server = subprocess.Popen([sys.executable, "-m", "installer", "serve", str(root), "--bind", "127.0.0.1:0",
                               "--results", str(results), "--quiet"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    assert server.stderr is not None
    said: list[str] = []
    try:
        first = server.stderr.readline()
        found = re.search(r"at http://127\.0\.0\.1:(\d+)/", first)
        if not found:
            raise RuntimeError(f"azl-installer serve did not start: {first.strip()}")
        yield int(found.group(1)), said
    finally:
        server.terminate()
        said += server.communicate(timeout=30)[1].splitlines()


def install(guest: Guest, port: int, work: Path, *, cpus: int, timeout: float, boot: bool = True) -> GuestRun:
    """`azl-installer vm --netboot PORT` for one guest: BIOS, a blank 4 GiB disk, then (boot) its disk alone."""
    serial = work / f"{guest.name}.log"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "installer", "vm", "--netboot", str(port), "--firmware", "bios", *guest.options,
         "--cpus", str(cpus), "--disk-size", "4GiB", "--workdir", str(work / guest.name), "--console", str(serial),
         "--timeout", str(timeout), *([] if boot else ["--no-boot"])],
        cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout * 2 + 600)
    return GuestRun(guest, done, time.monotonic() - started, serial)


def install_all(guests: Sequence[Guest], port: int, work: Path, *, timeout: float, boot: bool = True,
                at_once: int = 2) -> tuple[list[GuestRun], float]:
    """Every guest, at_once at a time (one CPU each: two guests on two cores); the runs and the wall time."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=at_once) as pool:
        runs = list(pool.map(lambda g: install(g, port, work, cpus=1, timeout=timeout, boot=boot), guests))
    return runs, time.monotonic() - started
