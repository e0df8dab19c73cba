"""Disk images for the VMs: blank qcow2 targets, the fixed VHD that Azure takes, the ISO's kernel.

Pure functions (qemu-img and xorriso command lines, the VHD footer check); session.py runs them.
"""

from __future__ import annotations

import os
from pathlib import Path

MiB = 1024**2
VHD_FOOTER = 512  # a fixed VHD is the raw disk followed by a 512-byte footer


def round_up_mib(size: int) -> int:
    return -(-size // MiB) * MiB


def qcow2_create_argv(path: Path, size: int) -> list[str]:
    return ["qemu-img", "create", "-q", "-f", "qcow2", os.fspath(path), str(size)]


def vhd_convert_argv(source: Path, out: Path) -> list[str]:
    """A fixed VHD (Azure's format) whose virtual size is exactly the source's (force_size: no CHS rounding)."""
    return ["qemu-img", "convert", "-f", "qcow2", "-O", "vpc", "-o", "subformat=fixed,force_size",
            os.fspath(source), os.fspath(out)]


def extract_boot_files_argv(iso: Path, kernel: Path, initrd: Path) -> list[str]:
    """/live/vmlinuz and /live/initrd.img copied out of the ISO (xorriso: no loop device, no mount)."""
    return ["xorriso", "-osirrox", "on", "-indev", os.fspath(iso), "-extract", "/live/vmlinuz", os.fspath(kernel),
            "-extract", "/live/initrd.img", os.fspath(initrd)]


def extract_file_argv(iso: Path, inner: str, dest: Path) -> list[str]:
    """One file copied out of the ISO."""
    return ["xorriso", "-osirrox", "on", "-indev", os.fspath(iso), "-extract", inner, os.fspath(dest)]


def vhd_footer(footer: bytes) -> tuple[int, int] | None:
    """(current size, disk type) from a VHD's last 512 bytes; None if they are no VHD footer. Type 2 is fixed."""
    if len(footer) != VHD_FOOTER or footer[:8] != b"conectix":
        return None
    return int.from_bytes(footer[48:56], "big"), int.from_bytes(footer[60:64], "big")


def vhd_problem(virtual_size: int, file_size: int, expected_virtual: int, footer: bytes) -> str | None:
    """Why a written VHD is not what Azure accepts, or None when it is."""
    parsed = vhd_footer(footer)
    if parsed is None:
        return "no VHD footer at the end of the file"
    if parsed != (virtual_size, 2):
        return f"the footer says size {parsed[0]}, type {parsed[1]} (want {virtual_size}, type 2 = fixed)"
    if virtual_size % MiB:
        return f"virtual size {virtual_size} is not a whole number of MiB"
    if virtual_size != expected_virtual:
        return f"virtual size {virtual_size} differs from the disk's {expected_virtual}"
    if file_size != virtual_size + VHD_FOOTER:
        return f"file size {file_size} is not virtual size + {VHD_FOOTER} (not a fixed VHD)"
    return None
