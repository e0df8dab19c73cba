"""Users and groups written straight into the target's /etc files.

Editing passwd/shadow/group directly (as systemd-firstboot and image builders do) needs no
tool inside the target and behaves the same for every payload.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from profiles.model import Root, User

FIRST_UID = 1000
FIRST_SYSTEM_GID = 900  # supplementary groups the payload does not provide (system range)


@dataclass
class AccountFiles:
    """The four account databases of a root, as lists of colon-separated fields."""

    root: Path
    passwd: list[list[str]]
    shadow: list[list[str]]
    group: list[list[str]]
    gshadow: list[list[str]]

    @staticmethod
    def read(root: Path) -> AccountFiles:
        def rows(name: str) -> list[list[str]]:
            path = root / "etc" / name
            if not path.exists():
                return []
            return [line.split(":") for line in path.read_text().splitlines() if line.strip()]

        return AccountFiles(root, rows("passwd"), rows("shadow"), rows("group"), rows("gshadow"))

    def write(self) -> None:
        etc = self.root / "etc"
        etc.mkdir(parents=True, exist_ok=True)
        for name, data, mode in (("passwd", self.passwd, 0o644), ("group", self.group, 0o644),
                                 ("shadow", self.shadow, 0o000), ("gshadow", self.gshadow, 0o000)):
            path = etc / name
            tmp = etc / f".{name}.azl-new"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            with os.fdopen(fd, "w") as handle:
                handle.write("".join(":".join(row) + "\n" for row in data))
            os.chmod(tmp, mode)
            os.replace(tmp, path)

    def _ids(self, table: list[list[str]]) -> set[int]:
        return {int(row[2]) for row in table if len(row) > 2 and row[2].isdigit()}

    def group_gid(self, name: str) -> int | None:
        return next((int(r[2]) for r in self.group if r[0] == name and len(r) > 2), None)

    def ensure_group(self, name: str, gid: int | None = None, *, system: bool = False) -> int:
        existing = self.group_gid(name)
        if existing is not None:
            return existing
        used = self._ids(self.group)
        if gid is None:
            gid = FIRST_SYSTEM_GID if system else FIRST_UID
            step = -1 if system else 1
            while gid in used:
                gid += step
        self.group.append([name, "x", str(gid), ""])
        self.gshadow.append([name, "!", "", ""])
        return gid

    def add_member(self, group: str, user: str) -> None:
        for table in (self.group, self.gshadow):
            for row in table:
                if row[0] == group:
                    members = [m for m in row[-1].split(",") if m]
                    if user not in members:
                        row[-1] = ",".join([*members, user])

    def set_password(self, user: str, value: str) -> None:
        for row in self.shadow:
            if row[0] == user:
                row[1] = value
                return
        self.shadow.append([user, value, "", "0", "99999", "7", "", "", ""])


def add_user(files: AccountFiles, user: User) -> tuple[int, int, Path]:
    """Add one user with a private group; returns uid, gid and the home directory (in root)."""
    if any(row[0] == user.name for row in files.passwd):
        raise ValueError(f"user '{user.name}' already exists in the installed system")
    used = files._ids(files.passwd)
    uid = user.uid if user.uid is not None else FIRST_UID
    while user.uid is None and uid in used:
        uid += 1
    gid = files.ensure_group(user.name, uid if uid not in files._ids(files.group) else None)
    home = f"/home/{user.name}"
    files.passwd.append([user.name, "x", str(uid), str(gid), user.gecos, home, user.shell])
    # "!" locks password login while SSH keys still work.
    files.set_password(user.name, user.password_hash or "!")
    for group in user.groups:
        files.ensure_group(group, system=True)
        files.add_member(group, user.name)
    return uid, gid, files.root / home.lstrip("/")


def configure_root(files: AccountFiles, root: Root) -> None:
    if not any(row[0] == "root" for row in files.passwd):
        files.passwd.insert(0, ["root", "x", "0", "0", "root", "/root", "/bin/bash"])
        files.ensure_group("root", 0)
    current = next((row[1] for row in files.shadow if row[0] == "root"), "")
    if root.locked:
        files.set_password("root", current if current.startswith("!") else "!" + (current or "*"))
    else:
        files.set_password("root", root.password_hash or "!*")


def chown(path: Path, uid: int, gid: int) -> None:
    # Installs run as root; unit tests build roots as an ordinary user, where ownership
    # cannot be given away and the numeric ids are checked in the files instead.
    if os.geteuid() == 0:
        os.chown(path, uid, gid)


def install_ssh_keys(home: Path, keys: tuple[str, ...], uid: int, gid: int) -> None:
    if not keys:
        return
    ssh = home / ".ssh"
    ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
    auth = ssh / "authorized_keys"
    auth.write_text("".join(k.strip() + "\n" for k in keys))
    os.chmod(auth, 0o600)
    for path in (ssh, auth):
        chown(path, uid, gid)
