"""Before the packages: /etc/fstab and /etc/kernel/cmdline, in Anaconda's order.

When dnf builds the whole system, the kernel package's scriptlets (kernel-install, dracut) run during
the transaction: they read /etc/fstab and take the kernel's options from /etc/kernel/cmdline, and
without that file from the INSTALLER's /proc/cmdline. So both are written first; the system and boot
loader steps write their final versions later (the boot loader step adds arguments other steps
asked for). An image payload would overwrite them, so it gets them after the image, as before.
"""

from __future__ import annotations

from installer.core.files import write_file
from installer.steps.base import InstallContext, PlanContext, Step
from installer.steps.bootloader import kernel_cmdline_file
from installer.steps.system import FSTAB_HEADER
from profiles import Profile


class EarlyConfigStep(Step):
    id = "early-config"
    title = "Write fstab and the kernel command line"
    doing = "writing fstab and the kernel command line"

    def applies(self, profile: Profile) -> bool:
        return profile.payload.image is None

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        return ("/etc/fstab (by UUID) before the payload, so the kernel's scriptlets see the layout",
                "/etc/kernel/cmdline: root=UUID=... ro and the boot loader's arguments (kernel-install reads it, "
                "instead of the installer's own /proc/cmdline)")

    def run(self, ctx: InstallContext) -> None:
        write_file(ctx.root, "/etc/fstab", FSTAB_HEADER + "".join(e.line() + "\n" for e in ctx.fstab))
        if ctx.profile.bootloader.enabled:
            text = kernel_cmdline_file(ctx.profile.bootloader, ctx.fstab, ctx.boot_args)
            write_file(ctx.root, "/etc/kernel/cmdline", text)
        ctx.events.progress(1.0, "wrote /etc/fstab and /etc/kernel/cmdline")
