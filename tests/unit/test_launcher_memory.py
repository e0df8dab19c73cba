"""The live launcher on the machine it runs in: one line when the memory is too little, the most in use during an
install, and where the boot went (iso/launcher.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from iso import launcher

MEMINFO_768 = "MemTotal:         733224 kB\nMemFree:          512000 kB\nMemAvailable:     600000 kB\n"
MEMINFO_512 = "MemTotal:         471040 kB\nMemFree:          300000 kB\nMemAvailable:     350000 kB\n"


def test_a_768_mib_machine_is_enough_and_a_512_mib_one_is_told_in_one_line() -> None:
    assert launcher.too_little_memory(MEMINFO_768) is None
    said = launcher.too_little_memory(MEMINFO_512)
    assert said == ("this machine has 460 MiB of memory (MemTotal); the installer needs a machine with at least "
                    "768 MiB")
    assert launcher.too_little_memory("garbage\n") is None  # nothing to go by: no refusal


def test_the_watch_reports_the_lowest_available_memory_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(MEMINFO_768)
    monkeypatch.setattr(launcher, "MEMORY_SAMPLE_SECONDS", 0.01)
    sampled = threading.Event()
    with launcher.MemoryWatch(meminfo) as watch:
        meminfo.write_text(MEMINFO_768.replace("600000", "102400"))  # 100 MiB left at the busiest moment
        for _ in range(1000):  # ten seconds at most
            if watch.lowest_available == 100:
                break
            sampled.wait(0.01)
        meminfo.write_text(MEMINFO_768)
    assert watch.summary() == "memory: at most 616 MiB of 716 MiB in use during the install (MemTotal - MemAvailable)"


def test_the_boot_is_split_at_systemds_start() -> None:
    line = launcher.boot_phases("41.37 80.12\n", "UserspaceTimestampMonotonic=29120345\n")
    assert line == "boot: 41.4 s since the kernel started: kernel and initramfs 29.1 s, the live system's units 12.2 s"
    assert launcher.boot_phases("41.37 80.12\n", "UserspaceTimestampMonotonic=0\n") is None  # not known
    assert launcher.boot_phases("", "") is None
