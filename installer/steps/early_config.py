"""Before the packages: /etc/fstab, /etc/crypttab and /etc/kernel/cmdline, in Anaconda's order.

When dnf builds the whole system, the kernel package's scriptlets (kernel-install, dracut) run during
the transaction: they read /etc/fstab and /etc/crypttab and take the kernel's options from
/etc/kernel/cmdline, and without that file from the INSTALLER's /proc/cmdline. So all three are
written first: crypttab as dracut reads it (a system dnf builds is an RPM system booting with dracut,
as the encryption-keys step assumes too), and the cmdline with rd.luks.uuid= for each volume. The
system, unlock and boot loader steps write their final versions later. An image payload would
overwrite them, so it gets them after the image, as before.
"""

from __future__ import annotations

from installer.core.files import write_file
from installer.payload.dnf import install_langs
from installer.steps.base import InstallContext, PlanContext, Step
from installer.steps.bootloader import kernel_cmdline_file
from installer.steps.encryption_keys import enabled
from installer.steps.system import FSTAB_HEADER
from installer.steps.unlock import add_boot_args, write_crypttab
from profiles import Profile
from storage.luks import kernel_arguments

LANGUAGE_MACROS = "/etc/rpm/macros.image-language-conf"


class EarlyConfigStep(Step):
    id = "early-config"
    title = "Write fstab and the kernel command line"  # and crypttab, when there are encrypted volumes
    doing = "writing fstab and the kernel command line"

    def applies(self, profile: Profile) -> bool:
        return profile.payload.image is None

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        lines = ["/etc/fstab (by UUID) before the payload, so the kernel's scriptlets see the layout"]
        if enabled(plan.profile) is not None:
            lines.append("/etc/crypttab (mode 0600, by LUKS UUID, as dracut's systemd-cryptsetup reads it) before the "
                         "payload, so the initramfs the kernel's scriptlets build can open the volumes")
        lines.append("/etc/kernel/cmdline: root=UUID=... ro" + (", rd.luks.uuid= per volume" if len(lines) > 1 else "")
                     + " and the boot loader's arguments (kernel-install reads it, instead of the installer's "
                     "own /proc/cmdline)")
        if plan.profile.payload.languages is not None:
            lines.append(f"{LANGUAGE_MACROS}: %_install_langs "
                         f"{install_langs(plan.profile.payload.languages)} (translations kept)")
        return tuple(lines)

    def run(self, ctx: InstallContext) -> None:
        write_file(ctx.root, "/etc/fstab", FSTAB_HEADER + "".join(e.line() + "\n" for e in ctx.fstab))
        written = ["/etc/fstab"]
        enc = enabled(ctx.profile)
        if enc is not None and ctx.encrypted is not None:
            write_crypttab(enc, ctx.encrypted.volumes, "dracut", ctx.root)
            add_boot_args(ctx, kernel_arguments(ctx.encrypted.volumes))
            written.append("/etc/crypttab")
        languages = ctx.profile.payload.languages
        if languages is not None:
            # Later dnf runs on the installed system keep to the same translations (Fedora's file name).
            write_file(ctx.root, LANGUAGE_MACROS, f"%_install_langs {install_langs(languages)}\n")
            written.append(LANGUAGE_MACROS)
        if ctx.profile.bootloader.enabled:
            text = kernel_cmdline_file(ctx.profile.bootloader, ctx.fstab, ctx.boot_args)
            write_file(ctx.root, "/etc/kernel/cmdline", text)
            written.append("/etc/kernel/cmdline")
        ctx.events.progress(1.0, "wrote " + ", ".join(written))
