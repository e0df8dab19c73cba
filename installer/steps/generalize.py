"""Generalize: leave the installed disk ready for capture as an image (deprovision), as
`waagent -deprovision` and `cloud-init clean --logs` would, done as file removals in the target."""

from __future__ import annotations

import glob
import os
import posixpath
import shutil
from pathlib import Path

from installer.core.events import EventBus
from installer.core.files import inside, write_file
from installer.steps.azure import enabled
from installer.steps.base import InstallContext, PlanContext, Step
from profiles import Profile

GENERALIZE_REMOVE = (
    "/etc/ssh/ssh_host_*",  # host keys: each VM made from the image creates its own
    "/var/lib/systemd/random-seed",
    "/var/lib/waagent", "/var/log/azure", "/var/log/waagent.log",  # the agent's state and logs
    "/var/lib/dhclient", "/var/lib/dhcpcd", "/var/lib/dhcp", "/var/lib/NetworkManager/*.lease",  # DHCP leases
    "/var/log/cloud-init.log", "/var/log/cloud-init-output.log",
    "/root/.bash_history",
)
GENERALIZED_HOSTNAME = "localhost.localdomain"


def generalize_details() -> tuple[str, ...]:
    return ("/etc/machine-id emptied (a new id on first boot)",
            f"/etc/hostname: {GENERALIZED_HOSTNAME} (set again by provisioning)",
            "removed: " + ", ".join(GENERALIZE_REMOVE),
            "removed: /var/lib/cloud/* except the seed (cloud-init clean); /etc/resolv.conf unless a symlink")


def generalize(root: Path, events: EventBus) -> list[str]:
    """Leave the installed disk ready for capture; returns the removed paths (inside the target)."""
    removed: list[str] = []
    patterns = [*GENERALIZE_REMOVE, "/var/lib/cloud/*"]
    for pattern in patterns:
        # Wildcards only in the last component; the folder is resolved inside the target, so a payload's
        # link (/var/lib -> /) can never make this delete anything of the installer's own system.
        folder, name = posixpath.split(pattern)
        host_folder = inside(root, folder)
        for found in sorted(glob.glob(glob.escape(str(host_folder)) + "/" + name)):
            path = Path(found)
            where = posixpath.join(folder, path.name)
            if where == "/var/lib/cloud/seed":
                continue
            _remove(path)
            removed.append(where)
    resolv = inside(root, "/etc/resolv.conf")
    if resolv.exists() and not resolv.is_symlink():
        resolv.unlink()
        removed.append("/etc/resolv.conf")
    write_file(root, "/etc/machine-id", "", mode=0o444)
    write_file(root, "/etc/hostname", GENERALIZED_HOSTNAME + "\n")
    events.log(f"generalized: machine-id emptied, removed {len(removed)} paths: {', '.join(removed) or 'none'}")
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        os.unlink(path)


class GeneralizeStep(Step):
    id = "generalize"
    title = "Generalize the disk for capture (deprovision)"
    doing = "generalizing the disk for capture"

    def applies(self, profile: Profile) -> bool:
        azure = enabled(profile)
        return azure is not None and azure.generalize

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        return generalize_details()

    def run(self, ctx: InstallContext) -> None:
        generalize(ctx.root, ctx.events)
