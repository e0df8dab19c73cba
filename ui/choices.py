"""What the user chose, section by section, and the checks each section needs.

Both front ends (the Textual screens and the line-based mode) edit one Choices object
through the same validators, and turn it into a Profile with to_profile(). Validators
return a list of one-line messages; empty means the section is fine.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Literal

from installer.api import DiskInfo, InstallerAPI, Inventory, disk_matches, hash_password
from profiles import problems_of
from profiles.model import (
    AutoLayout,
    CloudInit,
    DiskMatch,
    Encryption,
    Partition,
    Payload,
    Profile,
    Repository,
    Storage,
    System,
    VaultIdentity,
)
from profiles.userdata import check_user_data
from ui import custom_layout
from ui.accounts import UserChoice, duplicate_names, user_problems
from ui.stack_layout import Stack

FILESYSTEMS: tuple[Literal["xfs", "ext4", "btrfs"], ...] = ("xfs", "ext4", "btrfs")
FIRMWARES: tuple[Literal["uefi", "bios", "both"], ...] = ("uefi", "bios", "both")
ENCRYPTION_MODES = ("off", "passphrase", "keyvault-secret", "keyvault-key")
IDENTITIES = ("managed-identity", "service-principal")
# interactive_sections name -> the Profile fields that section's screens edit.
SECTION_FIELDS = {"system": ("system",), "storage": ("storage",), "encryption": ("encryption",),
                  "software": ("payload",), "users": ("users",), "cloud_init": ("cloud_init",)}
MIN_PASSWORD = 8

DiskRole = Literal["unused", "target", "keep"]

_HOSTNAME_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)
_VAULT_URL = re.compile(r"^https://[a-z0-9-]{3,24}\.vault\.(azure\.net|azure\.cn|usgovcloudapi\.net|"
                        r"microsoftazure\.de)/?$", re.IGNORECASE)
_ANY_HTTPS_URL = re.compile(r"^https://[^\s/]+(/\S*)?$")
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
    identity: str = "managed-identity"
    tenant_id: str = ""
    client_id: str = ""
    client_secret: str = ""
    certificate_path: str = ""
    repository: str = ""
    environment: str | None = None
    groups: list[str] = field(default_factory=list)
    packages: str = ""
    hostname: str = "azurelinux"
    users: list[UserChoice] = field(default_factory=lambda: [UserChoice("azureuser")])
    custom: bool = False  # a custom layout (layouts) instead of the automatic one
    layouts: dict[str, list[Partition]] = field(default_factory=dict)  # target disk path -> its partitions
    stack: Stack = field(default_factory=lambda: Stack([], []))  # the custom layout's arrays and groups
    user_data: str = ""  # cloud-init user-data; empty = none

    @property
    def username(self) -> str:
        return self.users[0].name if self.users else ""

    @property
    def password_hash(self) -> str | None:
        return self.users[0].password_hash if self.users else None

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
            ident = enc.identity
            choices.identity, choices.tenant_id, choices.client_id = ident.kind, ident.tenant_id or "", (
                ident.client_id or "")
            choices.client_secret, choices.certificate_path = ident.client_secret or "", ident.certificate_path or ""
        p = profile.payload
        choices.repository = (p.repositories[0].baseurl or "") if p.repositories else ""
        choices.environment, choices.groups, choices.packages = p.environment, list(p.groups), " ".join(p.packages)
        if profile.users:
            choices.users = [UserChoice.from_user(u) for u in profile.users]
        choices.custom = bool(profile.storage.partitions)
        choices.stack = Stack(list(profile.storage.raids), list(profile.storage.volume_groups))
        choices.user_data = profile.cloud_init.user_data or "" if profile.cloud_init else ""
        return choices

    def interactive(self, section: str) -> bool:
        """Is this section's screen shown? All are, unless the base profile lists interactive_sections."""
        wanted = self.base.interactive_sections if self.base is not None else ()
        return not wanted or "*" in wanted or section in wanted

    def apply_profile_disks(self, inventory: Inventory) -> None:
        """Mark the disks the base profile names as targets or left alone (never guesses)."""
        if self.base is None or self.roles:
            return
        for disk in inventory.disks:
            if any(disk_matches(r, disk) for r in self.base.storage.leave_alone):
                self.roles[disk.path] = "keep"
            elif any(disk_matches(r, disk) for r in self.base.storage.disks):
                self.roles[disk.path] = "target"
        # The profile's explicit partitions go to the disk its rule number names.
        for i, rule in enumerate(self.base.storage.disks):
            found = [d for d in inventory.disks if disk_matches(rule, d)]
            if len(found) == 1 and self.custom:
                self.layouts[found[0].path] = [p for p in self.base.storage.partitions if p.disk == i]

    # -- disks -----------------------------------------------------------------------------
    def role(self, path: str) -> DiskRole:
        return self.roles.get(path, "unused")

    def cycle_role(self, disk: DiskInfo) -> DiskRole:
        """unused -> target -> keep -> unused; with the automatic layout a new target replaces the old one."""
        order: tuple[DiskRole, ...] = ("unused", "target", "keep")
        new = order[(order.index(self.role(disk.path)) + 1) % 3]
        if new == "target":
            if disk.readonly:
                new = "keep"
            elif not self.custom:
                for path, role in list(self.roles.items()):
                    if role == "target":
                        self.roles[path] = "unused"
        self.roles[disk.path] = new
        return new

    def targets(self, inventory: Inventory) -> list[DiskInfo]:
        return [d for d in inventory.disks if self.role(d.path) == "target"]

    def explicit_layout(self) -> bool:
        return self.custom

    def set_custom(self, custom: bool, inventory: Inventory) -> None:
        """Switch layouts; back to automatic keeps only the first target (it uses one disk)."""
        self.custom = custom
        if not custom:
            for extra in self.targets(inventory)[1:]:
                self.roles[extra.path] = "unused"

    def disk_layout(self, path: str, inventory: Inventory) -> list[Partition]:
        """The partitions of one target disk, started from the automatic layout on the first disk."""
        if path not in self.layouts:
            first = not any(self.layouts.get(d.path) for d in self.targets(inventory) if d.path != path)
            base_auto = self.base.storage.auto if self.base is not None and self.base.storage.auto else AutoLayout()
            auto = replace(base_auto, filesystem=self.filesystem, boot=self.firmware)
            self.layouts[path] = custom_layout.seed(auto, first)
        return self.layouts[path]

    def storage(self, inventory: Inventory) -> Storage:
        def rule(d: DiskInfo) -> DiskMatch:
            return DiskMatch(path=d.path, serial=d.serial or None)

        keep = tuple(rule(d) for d in inventory.disks if self.role(d.path) == "keep")
        targets = tuple(rule(d) for d in self.targets(inventory))
        if self.custom:
            disks = self.targets(inventory)
            for d in disks:
                self.disk_layout(d.path, inventory)
            parts = custom_layout.storage_partitions(disks, self.layouts)
            self.stack.sync(parts)
            base_storage = self.base.storage if self.base is not None else Storage(disks=())
            return replace(base_storage, disks=targets, leave_alone=keep, auto=None, partitions=parts,
                           raids=tuple(self.stack.raids), volume_groups=tuple(self.stack.groups))
        base_auto = self.base.storage.auto if self.base is not None and self.base.storage.auto else AutoLayout()
        auto = replace(base_auto, filesystem=self.filesystem, boot=self.firmware)
        return Storage(disks=targets, leave_alone=keep, auto=auto)

    def check_disks(self, api: InstallerAPI, inventory: Inventory) -> list[str]:
        if not inventory.disks:
            return ["no disks were found: nothing to install onto"]
        if not self.targets(inventory):
            return ["choose a target disk: highlight it and press Space until it shows [E]"]
        return self.check_layout(api, inventory)

    def check_layout(self, api: InstallerAPI, inventory: Inventory) -> list[str]:
        """The engine's checks of the disks and layout (automatic or custom), naming partitions by device."""
        return custom_layout.storage_problems(api, self.to_profile(inventory), inventory, self.targets(inventory),
                                              self.layouts)

    # -- encryption ------------------------------------------------------------------------
    def check_encryption(self, confirm: str | None = None, *, any_vault_host: bool = False) -> list[str]:
        """any_vault_host: accept any https URL (a vault that is not under an Azure domain, as in tests)."""
        errors = []
        if self.encryption == "passphrase":
            if len(self.passphrase) < MIN_PASSWORD:
                errors.append(f"the passphrase needs at least {MIN_PASSWORD} characters")
            elif confirm is not None and confirm != self.passphrase:
                errors.append("the two passphrases differ")
        elif self.encryption in ("keyvault-secret", "keyvault-key"):
            if not (_ANY_HTTPS_URL if any_vault_host else _VAULT_URL).match(self.vault_url.strip()):
                errors.append("the vault URL must look like https://NAME.vault.azure.net")
            if not _KEY_NAME.match(self.key_name.strip()):
                errors.append("the key or secret name: 1-127 letters, digits and dashes")
            errors += self.check_identity()
        return errors

    def check_identity(self) -> list[str]:
        if self.identity != "service-principal":
            return []
        errors = []
        if not self.tenant_id.strip():
            errors.append("a service principal needs the tenant id")
        if not self.client_id.strip():
            errors.append("a service principal needs the client (application) id")
        secret, cert = bool(self.client_secret), bool(self.certificate_path.strip())
        if secret == cert:
            errors.append("give either the client secret or the certificate file, not both and not neither")
        elif cert and not os.path.isfile(self.certificate_path.strip()):
            errors.append(f"certificate file {self.certificate_path.strip()} does not exist")
        return errors

    def vault_identity(self) -> VaultIdentity:
        old = self.base.encryption.identity if self.base is not None and self.base.encryption else VaultIdentity()
        if self.identity != "service-principal":
            return VaultIdentity(client_id=self.client_id.strip() or None)
        cert = self.certificate_path.strip() or None
        return VaultIdentity(kind="service-principal", tenant_id=self.tenant_id.strip() or None,
                             client_id=self.client_id.strip() or None,
                             client_secret=None if cert else self.client_secret or None, certificate_path=cert,
                             certificate_password=old.certificate_password if cert else None,
                             authority=old.authority)

    def encryption_section(self) -> Encryption | None:
        if self.encryption == "off":
            return None
        old = self.base.encryption if self.base is not None and self.base.encryption else Encryption()
        vault = self.encryption != "passphrase"
        return replace(old, enabled=True, key_source=self.encryption,  # type: ignore[arg-type]
                       passphrase=None if vault else self.passphrase or None,
                       vault_url=self.vault_url.strip() or None if vault else old.vault_url,
                       key_name=self.key_name.strip() or None if vault else None,
                       identity=self.vault_identity() if vault or old.vault_url else old.identity)

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
    def check_users(self, password: str = "", confirm: str = "", current: int = 0) -> list[str]:
        """Host name and every user; password/confirm are typed for users[current] and not yet hashed."""
        errors = []
        host = self.hostname.strip()
        if not host or len(host) > 253 or not all(_HOSTNAME_LABEL.match(label) for label in host.split(".")):
            errors.append("host name: letters, digits and dashes, in dot-separated labels of at most 63")
        if not self.users:
            errors.append("add at least one user: root stays locked, so nobody could log in")
        for i, user in enumerate(self.users):
            who = user.name.strip() or f"user {i + 1}" if len(self.users) > 1 else ""
            typed = (password, confirm) if i == current else ("", "")
            errors += user_problems(user, *typed, who=who)
        return errors + duplicate_names(self.users)

    def set_password(self, password: str, current: int = 0) -> None:
        """Hash at once; the clear text is never stored."""
        if password and current < len(self.users):
            self.users[current].password_hash = hash_password(password)

    def check_cloud_init(self) -> list[str]:
        """The engine's user-data checks (YAML, header or MIME multipart, known keys), by line."""
        if not self.user_data.strip():
            return []
        return [str(issue) for issue in check_user_data(self.user_data)]

    def cloud_init_section(self, base: Profile) -> CloudInit | None:
        """Typed user-data replaces the profile's; emptied user-data drops it (no user-data at all)."""
        old = base.cloud_init
        if self.user_data.strip():
            return replace(old or CloudInit(), user_data=self.user_data, user_data_file=None, user_data_url=None)
        if old is None or old.user_data is None:
            return old
        rest = replace(old, user_data=None)
        return None if rest == CloudInit() else rest

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
        chosen = replace(base, storage=self.storage(inventory), payload=payload, system=system,
                         users=tuple(u.to_user() for u in self.users), encryption=self.encryption_section(),
                         cloud_init=self.cloud_init_section(base),
                         interactive_sections=())  # what the installer writes must replay unattended
        # Sections the profile did not leave interactive are taken exactly as it wrote them.
        kept = {name: getattr(base, name) for section, names in SECTION_FIELDS.items()
                if not self.interactive(section) for name in names}
        return replace(chosen, **kept)

    def profile_problems(self, inventory: Inventory) -> list[str]:
        return [f"{key}: {message}" for key, message in problems_of(self.to_profile(inventory))]


def not_applied(api: InstallerAPI, encryption: Encryption | None) -> str | None:
    """What the engine's plan refuses about this choice on this machine (its own blockers), or None.

    With encryption off, what it would refuse for a plain passphrase volume, so the user knows before choosing.
    """
    asked = encryption or Encryption(enabled=True, passphrase="-")
    check = api.check("encryption", Profile(storage=Storage(disks=()), encryption=asked), Inventory())
    if not check.blockers:
        return None
    lead = "! Cannot be done here" if encryption else "! If you choose encryption: cannot be done here"
    return f"{lead} (Review lists it as a blocker and refuses): " + "; ".join(b.text() for b in check.blockers)


def any_vault_host(api: InstallerAPI, choices: Choices) -> bool:
    """A vault outside Azure's vault domains (a private CA's, the tests' stand-in) is accepted when the
    profile names a ca_bundle for it, or the API's client settings say so; otherwise the URL is checked
    for typos."""
    return api.any_vault_host(choices.base.encryption if choices.base is not None else None)
