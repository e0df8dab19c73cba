"""Checks that span fields: what a type alone cannot say (a missing /, sizes that cannot fit).

Each check returns Problems with the key path to blame; positions come from the document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from installer.core.localization import Listing, system_lists
from profiles.azure_checks import azure_problems, cloud_init_problems, kernel_problems
from profiles.convert import Problem
from profiles.model import DiskMatch, Partition, Profile
from profiles.sizes import MiB, format_size
from profiles.stack_checks import stack_mounts, stack_problems
from profiles.system_checks import system_problems

_HOSTNAME_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# The crypt(3) methods a profile may use: yescrypt ($y$, what passwd writes on Azure Linux), SHA-512
# and SHA-256 crypt ($6$, $5$: openssl passwd -6/-5) and bcrypt ($2b$: Python's bcrypt). libxcrypt
# on Azure Linux verifies all four; MD5 ($1$), DES and the buggy early bcrypt ($2a$) are refused as weak.
_CRYPT_HASH = re.compile(r"^\$(y|6|5|2b)\$[./A-Za-z0-9$=,]+$")
_CRYPT_EXPECTED = "expected $y$..., $6$..., $5$... or $2b$..."
_SSH_KEY = re.compile(
    r"^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)"
    r"\s+[A-Za-z0-9+/]+=*(\s.*)?$"
)
_LOCALE = re.compile(r"^[A-Za-z]{1,8}(_[A-Za-z]{2})?(\.[A-Za-z0-9-]+)?(@[A-Za-z]+)?$")
_KEYMAP = re.compile(r"^[A-Za-z0-9_.-]+$")
_LABEL_LIMITS = {"ext4": 16, "xfs": 12, "vfat": 11, "btrfs": 255, "swap": 15}
_NO_MOUNT = ("swap", "biosboot", "none")


def check_profile(profile: Profile) -> list[Problem]:
    problems = list(_storage(profile))
    problems += _payload(profile)
    problems += _system(profile)
    problems += _accounts(profile)
    problems += _scripts(profile)
    problems += system_problems(profile)
    problems += _placeholders(profile)
    problems += _interactive_sections(profile)
    problems += _bootloader(profile)
    problems += _report_url(profile)
    return problems


# A URL the installer appends NAME.json to and sends with urllib: a scheme, a host, and no blank, quote or
# query/fragment (the name is appended to the path, where a query would swallow it).
_REPORT_URL = re.compile(r"^https?://[A-Za-z0-9.\[\]:-]+(/[^\s?#\"'\\]*)?$")


def _report_url(profile: Profile) -> Iterator[Problem]:
    if profile.report_url is not None and not _REPORT_URL.match(profile.report_url):
        yield Problem(("report_url",), "expected an http:// or https:// URL of a directory, e.g. "
                      "http://10.0.2.2:8080/results/ (no blanks, quotes, ? or #)")


def _bootloader(profile: Profile) -> Iterator[Problem]:
    boot = profile.bootloader
    yield from kernel_problems("bootloader", boot.cmdline, boot.initramfs_drivers)
    yield from kernel_problems("bootloader", boot.extra_cmdline, (), cmdline_key="extra_cmdline")


def _interactive_sections(profile: Profile) -> Iterator[Problem]:
    """Unknown names are caught by the type (with 'did you mean'); here: '*' with others, and repeats."""
    sections = profile.interactive_sections
    at = ("interactive_sections",)
    if "*" in sections and len(sections) > 1:
        yield Problem((*at, sections.index("*")), "'*' already means every section; list it alone")
    for i, name in enumerate(sections):
        if name in sections[:i]:
            yield Problem((*at, i), f"'{name}' is listed twice")


def _disk_rule_problems(rule: DiskMatch, path: tuple[str | int, ...]) -> Iterator[Problem]:
    if all(getattr(rule, name) is None for name in ("path", "serial", "model", "min_size", "max_size")):
        yield Problem(path, "a disk rule needs at least one of path, serial, model, min_size, max_size")
    if rule.path is not None and not rule.path.startswith("/dev/"):
        yield Problem((*path, "path"), f"'{rule.path}' is not a device path under /dev/")
    if rule.min_size is not None and rule.max_size is not None and rule.min_size > rule.max_size:
        yield Problem((*path, "min_size"), "min_size is larger than max_size")


def _storage(profile: Profile) -> Iterator[Problem]:
    storage = profile.storage
    # With storage left to the interactive installer, the person at the console picks the disks.
    storage_is_interactive = {"storage", "*"} & set(profile.interactive_sections)
    if not storage.disks and not storage_is_interactive:
        yield Problem(("storage", "disks"), "name at least one target disk (the installer never guesses)")
    for i, rule in enumerate(storage.disks):
        yield from _disk_rule_problems(rule, ("storage", "disks", i))
    for i, rule in enumerate(storage.leave_alone):
        yield from _disk_rule_problems(rule, ("storage", "leave_alone", i))
        if rule in storage.disks:
            yield Problem(("storage", "leave_alone", i), "the same rule is also a target disk")
    if storage.auto is not None and storage.partitions:
        yield Problem(("storage", "partitions"), "use either auto or partitions, not both")
    if storage.auto is not None and storage.auto.subvolumes and storage.auto.filesystem != "btrfs":
        yield Problem(("storage", "auto", "subvolumes"), "subvolumes need filesystem: btrfs")
    if storage.partitions:
        yield from _partitions(profile)
    elif storage.raids or storage.volume_groups:
        yield Problem(("storage", "partitions"), "arrays and volume groups are made of partitions: list them")


def _partitions(profile: Profile) -> Iterator[Problem]:
    storage = profile.storage
    mounts: dict[str, tuple[str | int, ...]] = {}
    per_disk: dict[int, list[Partition]] = {}
    for i, part in enumerate(storage.partitions):
        path: tuple[str | int, ...] = ("storage", "partitions", i)
        if not 0 <= part.disk < max(1, len(storage.disks)):
            count = len(storage.disks)
            yield Problem((*path, "disk"), f"disk {part.disk} does not exist (the profile lists {count} disk"
                          f"{'' if count == 1 else 's'}, numbered from 0)")
        per_disk.setdefault(part.disk, []).append(part)
        if part.size <= 0 and not part.grow:
            yield Problem((*path, "size"), "size must be larger than 0")
        if part.filesystem in _NO_MOUNT and part.mount is not None:
            yield Problem((*path, "mount"), f"a {part.filesystem} partition has no mount point")
        if part.filesystem not in _NO_MOUNT and part.mount is None and not part.subvolumes:
            yield Problem((*path, "mount"), f"a {part.filesystem} partition needs a mount point")
        if part.filesystem == "vfat" and part.mount not in (None, "/boot/efi", "/efi"):
            yield Problem((*path, "mount"), "vfat is only for the EFI system partition (/boot/efi)")
        if part.subvolumes and part.filesystem != "btrfs":
            yield Problem((*path, "subvolumes"), "subvolumes need filesystem: btrfs")
        limit = _LABEL_LIMITS.get(part.filesystem)
        if part.label is not None and limit is not None and len(part.label) > limit:
            yield Problem((*path, "label"), f"{part.filesystem} labels are at most {limit} characters")
        targets = [(part.mount, (*path, "mount"))] if part.mount else []
        targets += [(sv.mount, (*path, "subvolumes", j, "mount")) for j, sv in enumerate(part.subvolumes)]
        for mount, mpath in targets:
            if not mount.startswith("/") or "//" in mount or (mount != "/" and mount.endswith("/")):
                yield Problem(mpath, f"'{mount}' is not an absolute mount point such as /var")
            elif mount in mounts:
                yield Problem(mpath, f"mount point {mount} is used twice", related=(mounts[mount],))
            else:
                mounts[mount] = mpath
    if "/" not in mounts and "/" not in stack_mounts(storage):
        yield Problem(("storage", "partitions"), "no partition is mounted at /")
    yield from stack_problems(profile, mounts)
    # Each extra growing partition is blamed, pointing at the disk's first one: the UI names both by device.
    first_grow: dict[int, tuple[str | int, ...]] = {}
    for i, part in enumerate(storage.partitions):
        if not part.grow:
            continue
        path = ("storage", "partitions", i, "grow")
        if part.disk in first_grow:
            yield Problem(path, "more than one partition on this disk has grow: true", related=(first_grow[part.disk],))
        else:
            first_grow[part.disk] = path
    for disk, parts in per_disk.items():
        rule = storage.disks[disk] if 0 <= disk < len(storage.disks) else None
        needed = sum(p.size for p in parts) + 2 * MiB  # GPT headers and 1 MiB alignment
        if rule is not None and rule.max_size is not None and needed > rule.max_size:
            yield Problem(("storage", "disks", disk, "max_size"), f"the partitions on this disk need "
                          f"{format_size(needed)} but max_size is {format_size(rule.max_size)}")


def _payload(profile: Profile) -> Iterator[Problem]:
    payload = profile.payload
    wants_dnf = bool(payload.environment or payload.groups or payload.packages)
    if not wants_dnf and payload.image is None:
        yield Problem(("payload",), "nothing to install: give an environment, groups, packages or an image")
    if wants_dnf and not payload.repositories:
        yield Problem(("payload", "repositories"), "groups and packages need at least one repository")
    if payload.image is not None and payload.image.sha256 is not None and not re.match(
            r"^[0-9A-Fa-f]{64}$", payload.image.sha256):
        yield Problem(("payload", "image", "sha256"), "expected 64 hex digits")
    for key in ("groups", "packages", "exclude"):
        for i, name in enumerate(getattr(payload, key)):
            if not name.strip():  # dnf would only say so in the payload step, after the disks were partitioned
                yield Problem(("payload", key, i), "an empty name: give the group or package id")
    if not 1 <= payload.timeout <= 3600:
        yield Problem(("payload", "timeout"), "timeout is in seconds, from 1 to 3600")
    for i, lang in enumerate(payload.languages or ()):
        if not _LOCALE.match(lang):
            yield Problem(("payload", "languages", i), f"'{lang}' is not a locale name such as en_US")
    seen: set[str] = set()
    for i, repo in enumerate(payload.repositories):
        given = [key for key in ("baseurl", "mirrorlist", "metalink") if getattr(repo, key)]
        if len(given) != 1:
            yield Problem(("payload", "repositories", i), "give exactly one of baseurl, mirrorlist, metalink"
                          + (f" (not {' and '.join(given)})" if given else ""))
        if repo.baseurl and "://" in repo.baseurl and not re.match(r"^(file|https?)://", repo.baseurl):
            yield Problem(("payload", "repositories", i, "baseurl"),
                          "use file://, http://, https:// or a directory path")
        for key in ("mirrorlist", "metalink"):
            value = getattr(repo, key)
            if value and not re.match(r"^(file|https?)://", value):
                yield Problem(("payload", "repositories", i, key), "use an http://, https:// or file:// URL")
        if repo.cost is not None and not 0 <= repo.cost <= 1_000_000:
            yield Problem(("payload", "repositories", i, "cost"), "cost must be between 0 and 1000000")
        if repo.name in seen:
            yield Problem(("payload", "repositories", i, "name"), f"repository name '{repo.name}' is used twice")
        if not re.match(r"^[A-Za-z0-9_.:-]+$", repo.name):
            yield Problem(("payload", "repositories", i, "name"), "use letters, digits and - _ . : only")
        seen.add(repo.name)


def _system(profile: Profile) -> Iterator[Problem]:
    system = profile.system
    labels = system.hostname.split(".")
    if len(system.hostname) > 253 or not all(_HOSTNAME_LABEL.match(label) for label in labels):
        yield Problem(("system", "hostname"), f"'{system.hostname}' is not a valid host name "
                      "(letters, digits and '-', dot-separated labels of up to 63 characters)")
    # Checked against the lists the installer offers (installer/localization.py), but only where
    # the list is complete: a host without tzdata, glibc's locale list or kbd's keymaps (or with
    # only a partial list, such as xkb layouts) refuses nothing it cannot know about.
    lists = system_lists()
    if not _known(lists.timezones, system.timezone):
        yield Problem(("system", "timezone"), f"unknown time zone '{system.timezone}' (e.g. Europe/Berlin, UTC)")
    if not _LOCALE.match(system.locale):
        yield Problem(("system", "locale"), f"'{system.locale}' is not a locale name such as en_US.UTF-8")
    elif not _known(lists.locales, system.locale):
        yield Problem(("system", "locale"), f"unknown locale '{system.locale}' (not in {lists.locales.source}; "
                      "e.g. en_US.UTF-8, de_DE.UTF-8)")
    if not _KEYMAP.match(system.keyboard):
        yield Problem(("system", "keyboard"), f"'{system.keyboard}' is not a keymap name such as us or de")
    elif not _known(lists.keymaps, system.keyboard):
        yield Problem(("system", "keyboard"), f"unknown console keymap '{system.keyboard}' (not in "
                      f"{lists.keymaps.source}; e.g. us, de-latin1)")


def _known(listing: Listing, name: str) -> bool:
    return not listing.complete or listing.knows(name)


def _accounts(profile: Profile) -> Iterator[Problem]:
    names: set[str] = set()
    for i, user in enumerate(profile.users):
        path: tuple[str | int, ...] = ("users", i)
        if not _USER_NAME.match(user.name):
            yield Problem((*path, "name"), f"'{user.name}' is not a valid user name (lower case, digits, - and _)")
        elif user.name == "root":
            yield Problem((*path, "name"), "configure root in the root section, not as a user")
        elif user.name in names:
            yield Problem((*path, "name"), f"user '{user.name}' is defined twice")
        names.add(user.name)
        if user.password_hash is not None and not _CRYPT_HASH.match(user.password_hash):
            yield Problem((*path, "password_hash"), f"not a crypt(3) hash ({_CRYPT_EXPECTED}; "
                          "never a plain password)")
        if user.uid is not None and not 1 <= user.uid < 60000:
            yield Problem((*path, "uid"), "uid must be between 1 and 59999")
        for g, group in enumerate(user.groups):
            if not _USER_NAME.match(group):
                yield Problem((*path, "groups", g), f"'{group}' is not a valid group name")
        yield from _keys(user.ssh_keys, path)
        if not user.shell.startswith("/"):
            yield Problem((*path, "shell"), "the shell must be an absolute path")
        if user.home is not None and not user.home.startswith("/"):
            yield Problem((*path, "home"), "the home directory must be an absolute path")
        if user.gid is not None and not 1 <= user.gid < 60000:
            yield Problem((*path, "gid"), "gid must be between 1 and 59999")
    root = profile.root
    if root.password_hash is not None:
        if root.locked:
            yield Problem(("root", "password_hash"), "root is locked: set root.locked: false to use a password")
        if not _CRYPT_HASH.match(root.password_hash):
            yield Problem(("root", "password_hash"), f"not a crypt(3) hash ({_CRYPT_EXPECTED})")
    yield from _keys(root.ssh_keys, ("root",))


def _keys(keys: tuple[str, ...], path: tuple[str | int, ...]) -> Iterator[Problem]:
    for k, key in enumerate(keys):
        if not _SSH_KEY.match(key.strip()):
            yield Problem((*path, "ssh_keys", k), "not an SSH public key (expected 'ssh-ed25519 AAAA... comment')")


def _scripts(profile: Profile) -> Iterator[Problem]:
    for phase in ("pre", "pre_install", "post", "on_error"):
        for i, script in enumerate(getattr(profile.scripts, phase)):
            if not script.interpreter.startswith("/"):
                yield Problem(("scripts", phase, i, "interpreter"), "the interpreter must be an absolute path")
            if not script.body.strip():
                yield Problem(("scripts", phase, i, "body"), "the script is empty")
            if script.timeout is not None and not 1 <= script.timeout <= 7 * 24 * 3600:
                yield Problem(("scripts", phase, i, "timeout"), "timeout is in seconds, from 1 to a week (604800)")


def _placeholders(profile: Profile) -> Iterator[Problem]:
    yield from _encryption(profile)
    yield from cloud_init_problems(profile)
    yield from azure_problems(profile)


_VAULT_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")
_CIPHER = re.compile(r"^[a-z0-9]+(-[a-z0-9:]+)+$")
_NEVER_ENCRYPTED = ("/boot", "/boot/efi", "/efi")


def _encryption(profile: Profile) -> Iterator[Problem]:
    enc = profile.encryption
    if enc is None or not enc.enabled:
        return
    at = ("encryption",)
    if enc.key_source == "passphrase" and not enc.passphrase:
        yield Problem((*at, "passphrase"), "key_source passphrase needs a passphrase")
    if enc.key_source != "passphrase" and enc.passphrase:
        yield Problem((*at, "passphrase"), f"key_source {enc.key_source} takes the key from Key Vault; "
                      "remove the passphrase")
    uses_vault = enc.key_source != "passphrase" or enc.recovery.escrow == "keyvault" or "keyvault" in enc.unlock
    if uses_vault and not (enc.vault_url or "").startswith("https://"):
        yield Problem((*at, "vault_url"), "a Key Vault URL must start with https://")
    if enc.key_source != "passphrase" and not enc.key_name:
        yield Problem((*at, "key_name"), f"key_source {enc.key_source} needs key_name")
    for name in ("key_name", "key_version"):
        value = getattr(enc, name)
        if value and not _VAULT_NAME.match(value):
            yield Problem((*at, name), f"'{value}' is not a Key Vault name (1-127 letters, digits and dashes)")
    if uses_vault or enc.vault_url:
        yield from _vault_identity(profile)
    yield from _encrypted_volumes(profile)
    if not _CIPHER.match(enc.cipher):
        yield Problem((*at, "cipher"), f"'{enc.cipher}' is not a dm-crypt cipher such as aes-xts-plain64")
    if enc.key_size not in (128, 256, 512):
        yield Problem((*at, "key_size"), "key_size must be 128, 256 or 512 bits")
    elif "xts" in enc.cipher and enc.key_size == 128:
        yield Problem((*at, "key_size"), "XTS needs a key_size of 256 or 512 bits")
    yield from _pbkdf(profile)
    if enc.recovery.secret_name is not None and not _VAULT_NAME.match(enc.recovery.secret_name):
        yield Problem((*at, "recovery", "secret_name"), f"'{enc.recovery.secret_name}' is not a Key Vault name "
                      "(1-127 letters, digits and dashes)")
    yield from _unlock(profile)


def _vault_identity(profile: Profile) -> Iterator[Problem]:
    assert profile.encryption is not None
    ident = profile.encryption.identity
    at = ("encryption", "identity")
    if ident.kind == "service-principal":
        for name in ("tenant_id", "client_id"):
            if not getattr(ident, name):
                yield Problem((*at, name), f"a service principal needs {name}")
        if bool(ident.client_secret) == bool(ident.certificate_path):
            yield Problem(at, "a service principal needs exactly one of client_secret and certificate_path")
        if ident.certificate_password and not ident.certificate_path:
            yield Problem((*at, "certificate_password"), "certificate_password needs certificate_path")
        if ident.authority is not None and not ident.authority.startswith("https://"):
            yield Problem((*at, "authority"), "the authority must be an https URL")
    else:
        for name in ("tenant_id", "client_secret", "certificate_path", "certificate_password", "authority"):
            if getattr(ident, name):
                yield Problem((*at, name), f"{name} is only for kind: service-principal")


def _encrypted_volumes(profile: Profile) -> Iterator[Problem]:
    assert profile.encryption is not None
    volumes = profile.encryption.volumes
    storage = profile.storage
    mounts: set[str] = set()
    for part in storage.partitions:
        mounts |= {part.mount} if part.mount else set()
        mounts |= {sv.mount for sv in part.subvolumes}
    if storage.auto is not None or not storage.partitions:
        mounts.add("/")
        if storage.auto is not None:
            mounts |= {sv.mount for sv in storage.auto.subvolumes}
    if not volumes and not any(g.encrypted for g in storage.volume_groups):
        yield Problem(("encryption", "volumes"), "name at least one volume to encrypt, e.g. [/]")
    stacked = stack_mounts(storage)
    # A logical volume may hold its own LUKS2 volume (kickstart's logvol --encrypted), unlike an array.
    on_volumes = {v.mount: g for g in storage.volume_groups for v in g.logical_volumes if v.mount}
    mounts |= set(on_volumes)
    for i, mount in enumerate(volumes):
        at = ("encryption", "volumes", i)
        if mount in _NEVER_ENCRYPTED:
            yield Problem(at, f"{mount} is never encrypted: the firmware and boot loader must read it")
        elif mount in stacked and mount not in on_volumes:
            yield Problem(at, f"{mount} is on a RAID array: make the array a physical volume of an encrypted "
                          "volume group instead")
        elif mount in on_volumes and on_volumes[mount].encrypted:
            yield Problem(at, f"{mount} is in volume group '{on_volumes[mount].name}', which is encrypted "
                          "already: list it once, by the group (encrypted: true) or here")
        elif mount not in mounts:
            known = ", ".join(sorted(m for m in mounts if m not in _NEVER_ENCRYPTED))
            yield Problem(at, f"'{mount}' is not a mount point of the layout (encryptable: {known})")
        if mount in volumes[:i]:
            yield Problem(at, f"'{mount}' is listed twice")


def _pbkdf(profile: Profile) -> Iterator[Problem]:
    assert profile.encryption is not None
    pbkdf = profile.encryption.pbkdf
    at = ("encryption", "pbkdf")
    if pbkdf.memory is not None:
        if pbkdf.type == "pbkdf2":
            yield Problem((*at, "memory"), "memory applies only to argon2i and argon2id")
        elif not 32 * MiB <= pbkdf.memory <= 4096 * MiB:
            yield Problem((*at, "memory"), "argon2 memory must be between 32MiB and 4GiB")
    if not 100 <= pbkdf.iter_time <= 60000:
        yield Problem((*at, "iter_time"), "iter_time must be between 100 and 60000 milliseconds")
    if pbkdf.parallel is not None and not 1 <= pbkdf.parallel <= 4:
        yield Problem((*at, "parallel"), "parallel must be between 1 and 4")


def _unlock(profile: Profile) -> Iterator[Problem]:
    enc = profile.encryption
    assert enc is not None
    at = ("encryption", "unlock")
    if not enc.unlock:
        yield Problem(at, "choose at least one unlock method: tpm2, keyvault or passphrase")
    for i, method in enumerate(enc.unlock):
        if method in enc.unlock[:i]:
            yield Problem((*at, i), f"'{method}' is listed twice")
    for i, pcr in enumerate(enc.tpm2_pcrs):
        if not 0 <= pcr <= 23:
            yield Problem(("encryption", "tpm2_pcrs", i), f"PCR {pcr} does not exist: a TPM2 has PCRs 0 to 23")
    if enc.tpm2_pcrs and "tpm2" not in enc.unlock:
        yield Problem(("encryption", "tpm2_pcrs"), "tpm2_pcrs applies to unlock tpm2 only: add tpm2 to unlock, or "
                                                   "remove tpm2_pcrs")
    # unlock keyvault always uses the installed VM's managed identity (never a stored service principal).
    if "keyvault" in enc.unlock and enc.key_source == "passphrase":
        yield Problem(at, "unlock keyvault needs key_source keyvault-key or keyvault-secret")
