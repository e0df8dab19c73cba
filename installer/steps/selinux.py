"""SELinux: the mode in /etc/selinux/config, the kernel arguments the target's kernel needs, and its packages.

Only the SELINUX= line of the target's /etc/selinux/config is changed (as Anaconda does); the policy
type stays the one the payload's policy package wrote. Labelling is a separate step at the very end
(relabel.py), after everything the installer writes. A kernel whose built-in LSM order starts with
another major LSM (Debian's: AppArmor) gets `security=selinux`; a kernel that would enable SELinux
on its own gets `selinux=0` when the profile says disabled.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from installer.core.chroot import in_target
from installer.core.files import read_file, write_file
from installer.steps.base import InstallContext, PlanContext, Step, add_packages
from profiles import Profile

CONFIG = "/etc/selinux/config"
# What a dnf-built system needs for the mode (an image payload must already hold them).
PACKAGES = ("selinux-policy-targeted", "policycoreutils")
_MAJOR_LSMS = ("selinux", "apparmor", "smack", "tomoyo")


def policy_type(root: Path) -> str | None:
    """SELINUXTYPE of the target's config, or None when the payload brought no SELinux policy."""
    match = re.search(r"^\s*SELINUXTYPE\s*=\s*(\S+)", read_file(root, CONFIG), re.MULTILINE)
    return match.group(1) if match else None


def with_mode(config: str, mode: str) -> str:
    """config with its SELINUX= line set to mode (added when missing), every other line kept."""
    lines = config.splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^\s*SELINUX\s*=", line):
            lines[index] = f"SELINUX={mode}"
            break
    else:
        lines.insert(0, f"SELINUX={mode}")
    return "\n".join(lines) + "\n"


def selinux_by_default(kernel_config: str) -> bool | None:
    """Whether the kernel starts SELinux without arguments (None: its config does not say)."""
    match = re.search(r'^CONFIG_LSM="([^"]*)"', kernel_config, re.MULTILINE)
    if "CONFIG_SECURITY_SELINUX=y" not in kernel_config or match is None:
        return None
    majors = [lsm for lsm in match.group(1).split(",") if lsm in _MAJOR_LSMS]
    return bool(majors) and majors[0] == "selinux"


def kernel_arguments(root: Path, mode: str) -> list[str]:
    """Arguments every installed kernel needs for mode (from /boot/config-*, when the payload ships it)."""
    defaults = {selinux_by_default(p.read_text()) for p in sorted((root / "boot").glob("config-*"))}
    if mode == "disabled":
        return ["selinux=0"] if True in defaults else []
    return ["security=selinux"] if False in defaults else []


class SelinuxStep(Step):
    id = "selinux"
    title = "Set the SELinux mode"
    doing = "setting the SELinux mode"

    def amend(self, profile: Profile) -> Profile:
        # Only when dnf builds the whole system: an image payload brings its own (or no) policy.
        if profile.system.selinux == "disabled" or profile.payload.image is not None:
            return profile
        return add_packages(profile, PACKAGES)

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        mode = plan.profile.system.selinux
        return (f"{CONFIG}: SELINUX={mode} (only that line; the policy is the payload's own)",
                "kernel arguments from the target kernel's /boot/config-*: security=selinux when its LSM order "
                "starts with another LSM" + (", selinux=0 when it would enable SELinux" if mode == "disabled" else ""),
                "no SELinux policy in the payload (no /etc/selinux/config): nothing to set, logged")

    def run(self, ctx: InstallContext) -> None:
        mode = ctx.profile.system.selinux
        if policy_type(ctx.root) is None:
            ctx.events.log(f"the payload has no SELinux policy ({CONFIG} has no SELINUXTYPE): system.selinux "
                           f"{mode} not applied", level="info" if mode == "disabled" else "warning")
            return
        write_file(ctx.root, CONFIG, with_mode(read_file(ctx.root, CONFIG), mode))
        arguments = kernel_arguments(ctx.root, mode)
        ctx.boot_args.extend(a for a in arguments if a not in ctx.boot_args)
        ctx.events.progress(1.0, f"SELinux {mode}; kernel arguments: {' '.join(arguments) or 'none needed'}")


def relabel_argv(policy: str, paths: Sequence[str] = ("/",)) -> list[str]:
    """setfiles over paths of the target from its own policy; the ESP (vfat: no labels) and the
    installer's bind mounts left out. setfiles does not cross into other filesystems: each mount point
    of the target must be named (seen: a separate /boot stayed unlabelled when only / was given)."""
    return ["setfiles", "-F", "-e", "/proc", "-e", "/sys", "-e", "/dev", "-e", "/run", "-e", "/boot/efi",
            f"/etc/selinux/{policy}/contexts/files/file_contexts", *paths]


def label(ctx: InstallContext, paths: Sequence[str]) -> bool:
    """Label paths with the target's own policy, when the profile wants SELinux and the target has a
    policy; False when nothing was done."""
    policy = policy_type(ctx.root)
    if ctx.profile.system.selinux == "disabled" or policy is None:
        return False
    ctx.runner.run(in_target(ctx.root, relabel_argv(policy, paths)))
    return True
