"""The users the UI creates: name, password hash, SSH keys, admin (wheel), and their checks.

A UserChoice is mutable while the user edits; to_user() makes the profile's User, keeping
what a --profile user had beyond these fields (uid, shell, other groups). Passwords are
never stored: the front ends hash them at once with installer.core.passwords (libxcrypt).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field, replace

from profiles.model import User

MIN_PASSWORD = 8
ADMIN_GROUP = "wheel"
USERNAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
RESERVED_USERS = {"root", "bin", "daemon", "adm", "nobody", "sync", "shutdown", "halt", "mail", "operator"}
KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
             "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-dss")


@dataclass
class UserChoice:
    name: str = ""
    password_hash: str | None = None
    ssh_keys: list[str] = field(default_factory=list)
    admin: bool = True
    base: User | None = None  # the --profile user this one came from

    @classmethod
    def from_user(cls, user: User) -> UserChoice:
        return cls(user.name, user.password_hash, list(user.ssh_keys), ADMIN_GROUP in user.groups, user)

    def to_user(self) -> User:
        old = self.base or User(name=self.name.strip())
        groups = [g for g in old.groups if g != ADMIN_GROUP] + ([ADMIN_GROUP] if self.admin else [])
        return replace(old, name=self.name.strip(), groups=tuple(groups), password_hash=self.password_hash,
                       ssh_keys=tuple(k.strip() for k in self.ssh_keys if k.strip()))

    def summary(self) -> str:
        login = "password" if self.password_hash else "no password"
        keys = len([k for k in self.ssh_keys if k.strip()])
        admin = "admin (wheel)" if self.admin else "not admin"
        return f"{self.name or '(no name)'}: {admin}, {login}, {keys} SSH key{'s' if keys != 1 else ''}"


def ssh_key_problem(key: str) -> str | None:
    """Why key is not an OpenSSH public key line ('TYPE BASE64 [comment]'), or None.

    The base64 blob starts with the key type again (RFC 4253 string), so a line whose data
    was cut, wrapped or pasted from another key is caught here, not at the first login."""
    fields = key.split()
    if len(fields) < 2:
        return "expected 'TYPE BASE64 [comment]', e.g. 'ssh-ed25519 AAAAC3Nz... me@host'"
    kind, blob = fields[0], fields[1]
    if kind not in KEY_TYPES:
        return f"unknown key type '{kind[:30]}' (expected one of {', '.join(KEY_TYPES[:3])} ...)"
    try:
        data = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        return "the key data is not valid base64 (was the line cut or wrapped?)"
    length = int.from_bytes(data[:4], "big") if len(data) >= 4 else -1
    inner = data[4:4 + length] if 0 < length <= len(data) - 4 else b""
    if inner.decode("ascii", "replace") != kind:
        return f"the key data does not hold a {kind} key (was the line cut or the type changed?)"
    return None


def user_problems(user: UserChoice, password: str = "", confirm: str = "", *, who: str = "") -> list[str]:
    """Problems of one user; password/confirm are what is typed now (hashed only when fine)."""
    prefix = f"{who}: " if who else ""
    errors = []
    name = user.name.strip()
    if not USERNAME.match(name):
        errors.append(f"{prefix}user name: lower case letters, digits, _ and -, starting with a letter, at most 32")
    elif name in RESERVED_USERS:
        errors.append(f"{prefix}user name: '{name}' is a system account; choose another")
    errors += [prefix + e for e in password_problems(password, confirm)]
    for number, key in enumerate((k for k in user.ssh_keys if k.strip()), start=1):
        problem = ssh_key_problem(key.strip())
        if problem:
            errors.append(f"{prefix}SSH key {number}: {problem}")
    if not password and not user.password_hash and not any(k.strip() for k in user.ssh_keys):
        errors.append(f"{prefix}give the user a password or an SSH key, or nobody can log in")
    return errors


def password_problems(password: str, confirm: str) -> list[str]:
    """What is wrong with a password typed twice (nothing typed: nothing wrong, the old hash stays)."""
    if not (password or confirm):
        return []
    if len(password) < MIN_PASSWORD:
        return [f"password: at least {MIN_PASSWORD} characters"]
    return ["password: the two entries differ"] if password != confirm else []


def duplicate_names(users: list[UserChoice]) -> list[str]:
    seen: set[str] = set()
    twice = []
    for user in users:
        name = user.name.strip()
        if name in seen and name not in twice:
            twice.append(name)
        seen.add(name)
    return [f"user name '{n}' is used twice" for n in twice]
