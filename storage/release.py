"""What is still active on the target disks before they are erased, and taking it down.

A disk that held an earlier install may carry an assembled md array (the live system's udev
assembles arrays it finds), an active LVM volume group, an open LUKS mapping, swap in use, or a
mount left by an install that was killed. All of it sits on disks the confirmed plan erases, so it
is released, top down: unmount (only the installer's own leftovers under /run/azl-installer),
swapoff, deactivate logical volumes, close mappings, stop arrays. What cannot be released without
touching something outside the plan is refused before anything is written: a filesystem mounted
anywhere else (the running system's own disk, say), or an array or volume group that also uses a
disk that is not a target.

Read from one `lsblk --json` tree of every block device, through the Runner, so the plan shows it
and the tests replay it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from installer.core.runner import Runner

RUNTIME_DIR = "/run/azl-installer/"  # mounts under it are an earlier install's (this installer's own)
# LVM's hidden sub-volumes and device-mapper layers (a thin pool's data, metadata and -tpool, a RAID LV's images,
# a snapshot's -real/-cow): they go with the logical volume they serve, and lvchange refuses them by name.
_LVM_INTERNAL = re.compile(r"(-tpool|-real|-cow|_tmeta|_tdata|_cmeta|_cdata|_corig|_vorigin|_pmspare|_wcorig|"
                           r"_vdata|_mlog|_rimage_\d+|_rmeta_\d+|_mimage_\d+)$")
LSBLK = ["lsblk", "--json", "--output", "PATH,NAME,TYPE,MOUNTPOINTS"]


@dataclass(frozen=True)
class Active:
    path: str
    name: str
    type: str  # "part", "raid1", "crypt", "lvm", ...
    mounts: tuple[str, ...]
    parents: tuple[str, ...]  # every device it sits on, directly

    def describe(self) -> str:
        return f"{self.path} ({self.type})"


@dataclass
class Release:
    """What to take down on the target disks, top down, and why the rest cannot be."""

    actions: list[tuple[str, list[str]]] = field(default_factory=list)  # (plan line, argv)
    refusals: list[str] = field(default_factory=list)


def read_tree(output: str) -> dict[str, Active]:
    """path -> device, every node of lsblk's tree once (a device on several parents lists all of them)."""
    found: dict[str, Active] = {}

    def walk(node: dict[str, Any], parent: str | None) -> None:
        path = str(node.get("path") or "")
        mounts = tuple(str(m) for m in node.get("mountpoints") or [] if m)
        known = found.get(path)
        parents = (*(known.parents if known else ()), *([parent] if parent else []))
        found[path] = Active(path, str(node.get("name") or path), str(node.get("type") or ""), mounts,
                             tuple(dict.fromkeys(parents)))
        for child in node.get("children") or []:
            walk(child, path)

    for top in json.loads(output or "{}").get("blockdevices", []):
        walk(top, None)
    return found


def _below(tree: dict[str, Active], disks: Sequence[str]) -> list[Active]:
    """Every device built on the disks, children before parents (the order to take them down)."""
    children: dict[str, list[str]] = {}
    for device in tree.values():
        for parent in device.parents:
            children.setdefault(parent, []).append(device.path)
    order: list[str] = []

    def visit(path: str) -> None:
        for child in children.get(path, []):
            visit(child)
        if path not in order:
            order.append(path)

    for disk in disks:
        visit(disk)
    return [tree[p] for p in order if p not in disks]


def _disks_of(tree: dict[str, Active], path: str) -> set[str]:
    device = tree.get(path)
    if device is None:
        return set()
    if not device.parents:
        return {path}
    return set().union(*(_disks_of(tree, p) for p in device.parents))


def plan_release(tree: dict[str, Active], disks: Sequence[str]) -> Release:
    release = Release()
    targets = set(disks)
    leftovers: list[str] = []  # mounts of an earlier install of this installer, unmounted first
    for disk in disks:
        for mount in tree[disk].mounts if disk in tree else ():
            release.refusals.append(f"{disk} is mounted at {mount}: unmount it first (the installer never erases "
                                    "a disk in use)")
    for device in _below(tree, disks):
        outside = sorted(_disks_of(tree, device.path) - targets)
        if outside and device.type != "part":
            release.refusals.append(f"{device.describe()} also uses {', '.join(outside)}, which is not a target "
                                    "disk: erasing would break it (stop it first, or add that disk)")
            continue
        for mount in device.mounts:
            if mount == "[SWAP]":
                release.actions.append((f"swapoff {device.path}", ["swapoff", device.path]))
            elif mount.startswith(RUNTIME_DIR):
                leftovers.append(mount)
            else:
                release.refusals.append(f"{device.path} is mounted at {mount}: unmount it first (the installer "
                                        "never erases a disk in use)")
        if device.type == "lvm" and _LVM_INTERNAL.search(device.name):
            continue
        if device.type == "lvm":
            release.actions.append((f"deactivate logical volume {device.path}",
                                    ["lvchange", "--activate", "n", device.path]))
        elif device.type == "crypt":
            release.actions.append((f"close the LUKS mapping {device.name}", ["cryptsetup", "close", device.name]))
        elif device.type.startswith("raid") or device.type == "md":
            release.actions.append((f"stop the array {device.path}", ["mdadm", "--stop", device.path]))
        elif device.type not in ("part", "disk", "loop"):
            release.refusals.append(f"{device.describe()} is active on a target disk and the installer does not "
                                    "know how to stop it")
    # Deepest first, each with what is mounted below it (the /proc, /sys and /dev a killed install had bound
    # into its target are on no disk, so the tree does not show them): before anything under them is stopped.
    unmounts = [(f"unmount {m} (left by an earlier install)", ["umount", "--recursive", m])
                for m in sorted(set(leftovers), key=lambda m: (-m.count("/"), m))]
    release.actions[:0] = unmounts
    return release


def active_release(runner: Runner, disks: Sequence[str]) -> Release:
    """The release for the disks as they are now."""
    return plan_release(read_tree(runner.run(LSBLK).output), disks)


def release_disks(runner: Runner, disks: Sequence[str]) -> list[str]:
    """Take down what is active on the disks; returns the plan lines of what was done. Raises ReleaseRefused
    (nothing done) when something cannot be released."""
    release = active_release(runner, disks)
    if release.refusals:
        raise ReleaseRefused("; ".join(release.refusals))
    for _, argv in release.actions:
        runner.run(argv)
    if release.actions:
        runner.run(["udevadm", "settle", "--timeout=30"], check=False)
    return [line for line, _ in release.actions]


class ReleaseRefused(RuntimeError):
    """Something on a target disk is in use beyond what the plan may take down."""
