"""Payload: the operating system into the mounted target (a root image, then one dnf transaction).

The kernel package's %posttrans runs kernel-install, whose dracut plugin builds an initramfs: under
emulation that is minutes, and the boot loader step builds the initramfs again anyway, with the final
configuration (drivers for Azure, crypttab, the unlock modules written after the payload). So while dnf
runs, that plugin is masked the way kernel-install(8) documents, a link to /dev/null of its name in
/etc/kernel/install.d, and the one initramfs is the boot loader step's. The mask goes when the transaction
ends, however it ends, so kernel updates on the installed system build their initramfs as usual. Without
the boot loader step nothing is masked: the kernel's own initramfs is then the only one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from installer.payload import describe_payload, install_payload, missing_local_sources
from installer.steps.base import InstallContext, PlanContext, Step
from profiles import Problem, Profile

DRACUT_PLUGIN_MASK = "/etc/kernel/install.d/50-dracut.install"


def masks_dracut_plugin(profile: Profile) -> bool:
    return profile.bootloader.enabled


@contextmanager
def dracut_plugin_masked(root: Path) -> Iterator[None]:
    """kernel-install's dracut plugin masked in root while the block runs. A mask (or a plugin of that name)
    the target already has is its own: left as it is."""
    mask = root / DRACUT_PLUGIN_MASK.lstrip("/")
    if mask.exists() or mask.is_symlink():
        yield
        return
    made = [d for d in (mask.parent, *mask.parent.parents) if d.is_relative_to(root) and d != root
            and not d.exists()]
    mask.parent.mkdir(parents=True, exist_ok=True)
    mask.symlink_to("/dev/null")
    try:
        yield
    finally:
        if mask.is_symlink() and os.readlink(mask) == "/dev/null":
            mask.unlink()
        for directory in made:  # deepest first; a package may own one now (systemd-udev owns install.d)
            try:
                directory.rmdir()
            except OSError:
                break


class PayloadStep(Step):
    id = "payload"
    title = "Install software"
    doing = "installing software"

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        lines = describe_payload(plan.profile.payload, plan.dnf)
        if masks_dracut_plugin(plan.profile):
            lines.append(f"{DRACUT_PLUGIN_MASK} -> /dev/null while dnf runs: the kernel's scriptlet builds no "
                         "initramfs, the boot loader step builds the one the system boots")
        return tuple(lines)

    def blockers(self, plan: PlanContext) -> list[Problem]:
        if not plan.host_paths:
            return []  # a plan only shown, or made for another machine: its paths are not this host's
        return [Problem(key, message) for key, message in missing_local_sources(plan.profile.payload)]

    def run(self, ctx: InstallContext) -> None:
        with dracut_plugin_masked(ctx.root) if masks_dracut_plugin(ctx.profile) else nullcontext():
            install_payload(ctx.profile.payload, ctx.root, ctx.runner, ctx.events, ctx.workdir)
