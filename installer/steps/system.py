"""System: fstab, host name, locale, keymap, time zone and accounts (installer/accounts.py) of the installed root."""

from __future__ import annotations

from installer.accounts import configure_accounts
from installer.core.files import inside, write_file
from installer.steps.base import InstallContext, PlanContext, Step

FSTAB_HEADER = "# Written by azl-installer. Filesystems by UUID; see fstab(5).\n"


class SystemStep(Step):
    id = "system"
    title = "Configure the system"
    doing = "configuring the system"

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        system, profile = plan.profile.system, plan.profile
        users = [u.name for u in profile.users]
        return (
            "/etc/fstab (by UUID)",
            f"/etc/hostname: {system.hostname}; /etc/localtime -> {system.timezone}; "
            f"/etc/locale.conf LANG={system.locale}; /etc/vconsole.conf KEYMAP={system.keyboard}",
            f"users: {', '.join(users) or 'none'}; root {'locked' if profile.root.locked else 'password set'}",
            "accounts by the target's rules (its login.defs and /etc/skel): groupadd, useradd, chpasswd (hashes on "
            "its standard input), usermod --lock, each with --root TARGET; ~/.ssh/authorized_keys",
        )

    def run(self, ctx: InstallContext) -> None:
        root, system, events = ctx.root, ctx.profile.system, ctx.events
        write_file(root, "/etc/fstab", FSTAB_HEADER + "".join(e.line() + "\n" for e in ctx.fstab))
        events.progress(0.2, "wrote /etc/fstab")
        write_file(root, "/etc/hostname", system.hostname + "\n")
        write_file(root, "/etc/locale.conf", f"LANG={system.locale}\n")
        write_file(root, "/etc/vconsole.conf", f"KEYMAP={system.keyboard}\n")
        localtime = inside(root, "/etc/localtime")
        if localtime.is_symlink() or localtime.exists():
            localtime.unlink()
        # Relative link, so it resolves inside the installed system and not on the installer.
        localtime.symlink_to(f"../usr/share/zoneinfo/{system.timezone}")
        events.progress(0.5, f"host name {system.hostname}, time zone {system.timezone}, locale {system.locale}")
        configure_accounts(ctx.profile, root, ctx.runner, events)
        events.progress(1.0, f"accounts: {', '.join(u.name for u in ctx.profile.users) or 'no users'}; "
                             f"root {'locked' if ctx.profile.root.locked else 'with password'}")

