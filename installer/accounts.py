"""Users, groups, passwords and SSH keys, created the way the target's own tools create them.

The installer runs the host's shadow-utils with `--root TARGET`: useradd, groupadd, usermod and
chpasswd chroot into the target themselves and read its /etc/login.defs, /etc/default/useradd
and /etc/skel, so ids, home modes and skeleton files come out as an administrator's useradd
would make them on the installed system. They need nothing inside the target but its /etc
account files (passwd, group, shadow, gshadow): no shell, no libraries, no PAM.

Password hashes travel only on chpasswd's standard input, never in an argv (which every user
of the machine can read in /proc and which the runner logs) and never in an event.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from installer.core.events import EventBus
from installer.core.files import inside, read_file, write_file
from installer.core.runner import Runner
from profiles.model import Profile, User


@dataclass(frozen=True)
class Account:
    """One line of the target's /etc/passwd, as useradd left it."""

    name: str
    uid: int
    gid: int
    home: str  # inside the target


def passwd_entries(root: Path) -> dict[str, Account]:
    accounts = {}
    for line in read_file(root, "/etc/passwd").splitlines():
        fields = line.split(":")
        if len(fields) >= 7 and fields[2].isdigit() and fields[3].isdigit():
            accounts[fields[0]] = Account(fields[0], int(fields[2]), int(fields[3]), fields[5])
    return accounts


def group_names(root: Path) -> set[str]:
    return {line.split(":", 1)[0] for line in read_file(root, "/etc/group").splitlines() if line.strip()}


def groupadd_argv(root: Path, group: str, gid: int | None = None) -> list[str | Path]:
    """A group the profile names: with its gid, or else a system group, as a package would create it
    (docker, ...), for groups only named as a user's supplementary group."""
    if gid is not None:
        return ["groupadd", "--root", root, "--gid", str(gid), group]
    return ["groupadd", "--root", root, "--system", group]


def useradd_argv(root: Path, user: User) -> list[str | Path]:
    argv: list[str | Path] = ["useradd", "--root", root, "--create-home", "--user-group", "--shell", user.shell]
    if user.uid is not None:
        argv += ["--uid", str(user.uid)]
    if user.gid is not None:
        # The user's own group with this id, created first (useradd --user-group takes no gid of its own).
        argv = [a for a in argv if a != "--user-group"] + ["--no-user-group", "--gid", str(user.gid)]
    if user.home is not None:
        argv += ["--home-dir", user.home]
    if user.gecos:
        argv += ["--comment", user.gecos]
    if user.groups:
        argv += ["--groups", ",".join(user.groups)]
    return [*argv, user.name]


def missing_groups(users: Iterable[User], existing: set[str]) -> list[str]:
    """Supplementary groups no user's useradd could find, each once, in the order first named."""
    wanted: list[str] = []
    for user in users:
        wanted += [g for g in user.groups if g not in existing and g not in wanted]
    return wanted


def set_passwords(root: Path, hashes: dict[str, str], runner: Runner) -> None:
    """chpasswd --encrypted with 'name:hash' lines on stdin: the hashes never appear in an argv."""
    if hashes:
        lines = "".join(f"{name}:{value}\n" for name, value in hashes.items())
        runner.run(["chpasswd", "--root", root, "--encrypted"], stdin_text=lines)


def install_ssh_keys(root: Path, account: Account, keys: tuple[str, ...]) -> None:
    """~/.ssh (0700) and ~/.ssh/authorized_keys (0600), owned by the account, never through a link."""
    if not keys:
        return
    ssh = f"{account.home.rstrip('/')}/.ssh"
    directory = inside(root, ssh)
    if directory.is_symlink():
        raise OSError(f"refusing to use {ssh} in the target: it is a symbolic link")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700, follow_symlinks=False)
    auth = write_file(root, f"{ssh}/authorized_keys", "".join(k.strip() + "\n" for k in keys), 0o600)
    for path in (directory, auth):
        _chown(path, account)


def _chown(path: Path, account: Account) -> None:
    # Installs run as root; unit tests may build roots as an ordinary user, who cannot give
    # files away (the numeric ids are checked in passwd there instead).
    if os.geteuid() == 0:
        os.chown(path, account.uid, account.gid, follow_symlinks=False)


def configure_accounts(profile: Profile, root: Path, runner: Runner, events: EventBus) -> None:
    """Create the profile's users with their groups, passwords and SSH keys; lock or set root's password."""
    existing = passwd_entries(root)
    for user in profile.users:
        if user.name in existing:
            raise ValueError(f"user '{user.name}' already exists in the installed system")
    existing_groups = group_names(root)
    for group in profile.groups:
        if group.name in existing_groups:
            raise ValueError(f"group '{group.name}' already exists in the installed system")
        runner.run(groupadd_argv(root, group.name, group.gid))
        events.log(f"created group {group.name}")
    existing_groups |= {g.name for g in profile.groups}
    for user in profile.users:
        if user.gid is not None and not any(g.gid == user.gid for g in profile.groups):
            runner.run(groupadd_argv(root, user.name, user.gid))  # the user's own group, at the id asked for
    for name in missing_groups(profile.users, existing_groups):
        runner.run(groupadd_argv(root, name))
        events.log(f"created group {name}")
    for user in profile.users:
        # A user without a password hash keeps useradd's locked '!' password: SSH keys still work.
        runner.run(useradd_argv(root, user))
        events.log(f"created user {user.name}" + (f" in {', '.join(user.groups)}" if user.groups else ""))
    hashes = {u.name: u.password_hash for u in profile.users if u.password_hash}
    if not profile.root.locked and profile.root.password_hash:
        hashes["root"] = profile.root.password_hash
    set_passwords(root, hashes, runner)
    for user in profile.users:
        if user.locked and user.password_hash:
            runner.run(["usermod", "--root", root, "--lock", user.name])
    if "root" not in hashes:
        # usermod --lock puts '!' before root's hash: password logins fail, keys and su from wheel work.
        runner.run(["usermod", "--root", root, "--lock", "root"])
    created = passwd_entries(root)
    for user in profile.users:
        if user.ssh_keys:
            if user.name not in created:
                raise ValueError(f"useradd reported success but '{user.name}' is not in the target's /etc/passwd")
            install_ssh_keys(root, created[user.name], user.ssh_keys)
    if profile.root.ssh_keys:
        account = created.get("root", Account("root", 0, 0, "/root"))
        home = inside(root, account.home)
        if not home.exists() and not home.is_symlink():
            home.mkdir(mode=0o550, parents=True)  # as the filesystem package ships /root
        install_ssh_keys(root, account, profile.root.ssh_keys)
