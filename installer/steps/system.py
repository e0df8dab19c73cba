"""System: fstab, host name, locale, keymap, time zone and accounts (installer/accounts.py) of the installed root."""

from __future__ import annotations

from installer.accounts import configure_accounts
from installer.core.files import inside, write_file
from installer.steps.base import InstallContext, PlanContext, Step

FSTAB_HEADER = "# Written by azl-installer. Filesystems by UUID; see fstab(5).\n"


def mdadm_conf(scan: str, names: list[str]) -> str:
    """The ARRAY lines of `mdadm --detail --scan` for the install's arrays, each under /dev/md/NAME (mdadm may
    show /dev/md127 for it), so the system and its initramfs assemble them under their names."""
    lines = []
    for line in scan.splitlines():
        words = line.split()
        if len(words) > 1 and words[0] == "ARRAY" and _array_name(words) in names:
            lines.append(" ".join(["ARRAY", f"/dev/md/{_array_name(words)}", *words[2:]]))
    return "# Written by azl-installer: the arrays of this system.\n" + "".join(f"{line}\n" for line in lines)


def _array_name(words: list[str]) -> str:
    """NAME of an ARRAY line: its name= (without a host part) or else its device /dev/md/NAME."""
    named = [w.removeprefix("name=").rsplit(":", 1)[-1] for w in words if w.startswith("name=")]
    return named[0] if named else words[1].removeprefix("/dev/md/")


def write_mdadm_conf(ctx: InstallContext) -> None:
    scan = ctx.runner.run(["mdadm", "--detail", "--scan"]).output
    # Debian's mdadm reads /etc/mdadm/mdadm.conf; Fedora's and Azure Linux's /etc/mdadm.conf.
    path = "/etc/mdadm/mdadm.conf" if (ctx.root / "etc/mdadm").is_dir() else "/etc/mdadm.conf"
    write_file(ctx.root, path, mdadm_conf(scan, [r.name for r in ctx.storage.raids]))


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
            *(["/etc/mdadm.conf (/etc/mdadm/mdadm.conf on Debian): the arrays, from mdadm --detail --scan"]
              if plan.storage.raids else []),
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
        if ctx.storage.raids:
            write_mdadm_conf(ctx)
        configure_accounts(ctx.profile, root, ctx.runner, events)
        events.progress(1.0, f"accounts: {', '.join(u.name for u in ctx.profile.users) or 'no users'}; "
                             f"root {'locked' if ctx.profile.root.locked else 'with password'}")

