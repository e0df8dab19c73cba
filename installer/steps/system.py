"""System: fstab, host name, locale, keymap, time zone and accounts of the installed root."""

from __future__ import annotations

from installer.accounts import AccountFiles, add_user, chown, configure_root, install_ssh_keys
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
        _accounts(ctx)
        events.progress(1.0, f"accounts: {', '.join(u.name for u in ctx.profile.users) or 'no users'}; "
                             f"root {'locked' if ctx.profile.root.locked else 'with password'}")


def _accounts(ctx: InstallContext) -> None:
    root, profile = ctx.root, ctx.profile
    accounts = AccountFiles.read(root)
    configure_root(accounts, profile.root)
    created = []
    for user in profile.users:
        uid, gid, home = add_user(accounts, user)
        created.append((user, uid, gid, home))
    accounts.write()
    for user, uid, gid, home in created:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        chown(home, uid, gid)
        install_ssh_keys(home, user.ssh_keys, uid, gid)
    root_home = root / "root"
    root_home.mkdir(mode=0o550, exist_ok=True)
    install_ssh_keys(root_home, profile.root.ssh_keys, 0, 0)
