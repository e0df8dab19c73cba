"""System configuration of the installed root: fstab, host name, locale, time, accounts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from installer.accounts import configure_accounts
from installer.core.events import EventBus
from installer.core.files import write_file
from installer.core.runner import Runner
from profiles.model import Profile
from storage.apply import FstabEntry


def configure_system(profile: Profile, root: Path, fstab: Sequence[FstabEntry], events: EventBus,
                     runner: Runner) -> None:
    header = "# Written by azl-installer. Filesystems by UUID; see fstab(5).\n"
    write_file(root, "/etc/fstab", header + "".join(e.line() + "\n" for e in fstab))
    events.progress(0.2, "wrote /etc/fstab")
    system = profile.system
    write_file(root, "/etc/hostname", system.hostname + "\n")
    write_file(root, "/etc/locale.conf", f"LANG={system.locale}\n")
    write_file(root, "/etc/vconsole.conf", f"KEYMAP={system.keyboard}\n")
    localtime = root / "etc/localtime"
    if localtime.is_symlink() or localtime.exists():
        localtime.unlink()
    # Relative link, so it resolves inside the installed system and not on the installer.
    localtime.symlink_to(f"../usr/share/zoneinfo/{system.timezone}")
    events.progress(0.5, f"host name {system.hostname}, time zone {system.timezone}, locale {system.locale}")
    configure_accounts(profile, root, runner, events)
    events.progress(1.0, f"accounts: {', '.join(u.name for u in profile.users) or 'no users'}; "
                         f"root {'locked' if profile.root.locked else 'with password'}")
