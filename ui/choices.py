"""What the user chose, section by section, and the checks each section needs.

Both front ends (the Textual screens and the line-based mode) edit one Choices object
through the same validators, and turn it into a Profile with to_profile(). Validators
return a list of one-line messages; empty means the section is fine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from profiles import problems_of
from profiles.model import (
    AutoLayout,
    DiskMatch,
    Encryption,
    Payload,
    Profile,
    Repository,
    Storage,
    System,
    User,
)
from storage.inventory import DiskInfo, Inventory
from storage.layout import LayoutError, StoragePlan, plan_storage
from ui.passwords import hash_password

LANGUAGES = ("C.UTF-8", "en_US.UTF-8", "en_GB.UTF-8", "de_DE.UTF-8", "fr_FR.UTF-8", "es_ES.UTF-8",
             "ja_JP.UTF-8", "zh_CN.UTF-8")
KEYBOARDS = ("us", "uk", "de", "fr", "es", "it", "jp106", "dvorak")
TIMEZONES = ("UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York",
             "America/Chicago", "America/Los_Angeles", "Asia/Tokyo", "Asia/Shanghai", "Australia/Sydney")
FILESYSTEMS: tuple[Literal["xfs", "ext4", "btrfs"], ...] = ("xfs", "ext4", "btrfs")
FIRMWARES: tuple[Literal["uefi", "bios", "both"], ...] = ("uefi", "bios", "both")
ENCRYPTION_MODES = ("off", "passphrase", "keyvault-secret", "keyvault-key")
MIN_PASSWORD = 8

DiskRole = Literal["unused", "target", "keep"]

_HOSTNAME_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)
_USERNAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_RESERVED_USERS = {"root", "bin", "daemon", "adm", "nobody", "sync", "shutdown", "halt", "mail", "operator"}
_SSH_KEY = re.compile(r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-\S+)\s+[A-Za-z0-9+/=]+(\s.*)?$")
_VAULT_URL = re.compile(r"^https://[a-z0-9-]{3,24}\.vault\.azure\.(net|cn|us)/?$", re.IGNORECASE)
_KEY_NAME = re.compile(r"^[A-Za-z0-9-]{1,127}$")


@dataclass
class Choices:
    """Mutable while the user edits; to_profile() freezes it into a Profile."""

    base: Profile | None = None  # the --profile the choices were prefilled from
    locale: str = "C.UTF-8"
    keyboard: str = "us"
    timezone: str = "UTC"
    roles: dict[str, DiskRole] = field(default_factory=dict)  # disk path -> role
    filesystem: Literal["xfs", "ext4", "btrfs"] = "xfs"
    firmware: Literal["uefi", "bios", "both"] = "uefi"
    encryption: str = "off"
    passphrase: str = ""
    vault_url: str = ""
    key_name: str = ""
    repository: str = ""
    environment: str | None = None
    groups: list[str] = field(default_factory=list)
    packages: str = ""
    hostname: str = "azurelinux"
    username: str = "azureuser"
    password_hash: str | None = None
    ssh_key: str = ""

    # -- prefill ---------------------------------------------------------------------------
    @classmethod
    def from_profile(cls, profile: Profile | None) -> Choices:
        choices = cls(base=profile)
        if profile is None:
            return choices
        s = profile.system
        choices.locale, choices.keyboard, choices.timezone, choices.hostname = (s.locale, s.keyboard, s.timezone,
                                                                                 s.hostname)
        if profile.storage.auto is not None:
            choices.filesystem, choices.firmware = profile.storage.auto.filesystem, profile.storage.auto.boot
        enc = profile.encryption
        if enc is not None and enc.enabled:
            choices.encryption = enc.key_source
            choices.passphrase, choices.vault_url, choices.key_name = (enc.passphrase or "", enc.vault_url or "",
                                                                       enc.key_name or "")
        p = profile.payload
        choices.repository = p.repositories[0].baseurl if p.repositories else ""
        choices.environment, choices.groups, choices.packages = p.environment, list(p.groups), " ".join(p.packages)
        if profile.users:
            user = profile.users[0]
            choices.username, choices.password_hash = user.name, user.password_hash
            choices.ssh_key = user.ssh_keys[0] if user.ssh_keys else ""
        return choices

    def apply_profile_disks(self, inventory: Inventory) -> None:
        """Mark the disks the base profile names as targets or left alone (never guesses)."""
        from storage.layout import matches

        if self.base is None or self.roles:
            return
        for disk in inventory.disks:
            if any(matches(r, disk) for r in self.base.storage.leave_alone):
                self.roles[disk.path] = "keep"
            elif any(matches(r, disk) for r in self.base.storage.disks):
                self.roles[disk.path] = "target"

    # -- disks -----------------------------------------------------------------------------
    def role(self, path: str) -> DiskRole:
        return self.roles.get(path, "unused")

    def cycle_role(self, disk: DiskInfo) -> DiskRole:
        """unused -> target -> keep -> unused; a new target replaces the old one (auto uses one disk)."""
        order: tuple[DiskRole, ...] = ("unused", "target", "keep")
        new = order[(order.index(self.role(disk.path)) + 1) % 3]
        if new == "target":
            if disk.readonly:
                new = "keep"
            else:
                for path, role in list(self.roles.items()):
                    if role == "target":
                        self.roles[path] = "unused"
        self.roles[disk.path] = new
        return new

    def targets(self, inventory: Inventory) -> list[DiskInfo]:
        return [d for d in inventory.disks if self.role(d.path) == "target"]

    def explicit_layout(self) -> bool:
        return self.base is not None and bool(self.base.storage.partitions)

    def storage(self, inventory: Inventory) -> Storage:
        def rule(d: DiskInfo) -> DiskMatch:
            return DiskMatch(path=d.path, serial=d.serial or None)

        keep = tuple(rule(d) for d in inventory.disks if self.role(d.path) == "keep")
        targets = tuple(rule(d) for d in self.targets(inventory))
        if self.explicit_layout() and self.base is not None:
            return replace(self.base.storage, disks=targets, leave_alone=keep)
        base_auto = self.base.storage.auto if self.base is not None and self.base.storage.auto else AutoLayout()
        auto = replace(base_auto, filesystem=self.filesystem, boot=self.firmware)
        return Storage(disks=targets, leave_alone=keep, auto=auto)

    def layout(self, inventory: Inventory) -> StoragePlan:
        """The storage plan of the current choices; LayoutError says what does not fit."""
        return plan_storage(self.storage(inventory), inventory)

    def check_disks(self, inventory: Inventory) -> list[str]:
        if not inventory.disks:
            return ["no disks were found: nothing to install onto"]
        if not self.targets(inventory):
            return ["choose a target disk: highlight it and press Space until it shows [E]"]
        try:
            self.layout(inventory)
        except LayoutError as err:
            return [str(err)]
        return []

    # -- encryption ------------------------------------------------------------------------
    def check_encryption(self, confirm: str | None = None) -> list[str]:
        errors = []
        if self.encryption == "passphrase":
            if len(self.passphrase) < MIN_PASSWORD:
                errors.append(f"the passphrase needs at least {MIN_PASSWORD} characters")
            elif confirm is not None and confirm != self.passphrase:
                errors.append("the two passphrases differ")
        elif self.encryption in ("keyvault-secret", "keyvault-key"):
            if not _VAULT_URL.match(self.vault_url.strip()):
                errors.append("the vault URL must look like https://NAME.vault.azure.net")
            if not _KEY_NAME.match(self.key_name.strip()):
                errors.append("the key or secret name: 1-127 letters, digits and dashes")
        return errors

    # -- software --------------------------------------------------------------------------
    def package_list(self) -> tuple[str, ...]:
        return tuple(p for p in re.split(r"[\s,]+", self.packages) if p)

    def check_software(self) -> list[str]:
        bad = [p for p in self.package_list() if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$", p)]
        errors = [f"'{p}' is not a package name" for p in bad]
        if not (self.environment or self.groups or self.package_list()):
            errors.append("choose an environment, a group or a package: nothing would be installed")
        return errors

    # -- users -----------------------------------------------------------------------------
    def check_users(self, password: str = "", confirm: str = "") -> list[str]:
        errors = []
        host = self.hostname.strip()
        if not host or len(host) > 253 or not all(_HOSTNAME_LABEL.match(label) for label in host.split(".")):
            errors.append("host name: letters, digits and dashes, in dot-separated labels of at most 63")
        name = self.username.strip()
        if not _USERNAME.match(name):
            errors.append("user name: lower case letters, digits, _ and -, starting with a letter, at most 32")
        elif name in _RESERVED_USERS:
            errors.append(f"user name: '{name}' is a system account; choose another")
        if password or confirm:
            if len(password) < MIN_PASSWORD:
                errors.append(f"password: at least {MIN_PASSWORD} characters")
            elif password != confirm:
                errors.append("password: the two entries differ")
        key = self.ssh_key.strip()
        if key and not _SSH_KEY.match(key):
            errors.append("SSH key: expected a public key line such as 'ssh-ed25519 AAAA... comment'")
        if not password and not self.password_hash and not key:
            errors.append("give the user a password or an SSH key, or nobody can log in")
        return errors

    def set_password(self, password: str) -> None:
        """Hash at once; the clear text is never stored."""
        if password:
            self.password_hash = hash_password(password)

    # -- the profile -----------------------------------------------------------------------
    def to_profile(self, inventory: Inventory) -> Profile:
        base = self.base or Profile(storage=Storage(disks=()))
        repos = base.payload.repositories
        if self.repository.strip() and (not repos or repos[0].baseurl != self.repository.strip()):
            repos = (Repository(name="main", baseurl=self.repository.strip(), gpgcheck=False), *repos[1:])
        payload = replace(base.payload or Payload(), repositories=repos, environment=self.environment,
                          groups=tuple(self.groups), packages=self.package_list())
        system = replace(base.system or System(), hostname=self.hostname.strip(), timezone=self.timezone,
                         locale=self.locale, keyboard=self.keyboard)
        old = base.users[0] if base.users else User(name=self.username.strip(), groups=("wheel",))
        user = replace(old, name=self.username.strip(), password_hash=self.password_hash,
                       ssh_keys=(self.ssh_key.strip(),) if self.ssh_key.strip() else ())
        encryption = None
        if self.encryption != "off":
            encryption = Encryption(
                enabled=True, key_source=self.encryption,  # type: ignore[arg-type]
                passphrase=self.passphrase or None if self.encryption == "passphrase" else None,
                vault_url=self.vault_url.strip() or None if self.encryption != "passphrase" else None,
                key_name=self.key_name.strip() or None if self.encryption != "passphrase" else None,
            )
        return replace(base, storage=self.storage(inventory), payload=payload, system=system,
                       users=(user, *base.users[1:]), encryption=encryption)

    def profile_problems(self, inventory: Inventory) -> list[str]:
        return [f"{key}: {message}" for key, message in problems_of(self.to_profile(inventory))]
