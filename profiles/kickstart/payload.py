"""Kickstart's software and boot commands as profile keys: url, repo, liveimg, %packages, bootloader, scripts.

Anaconda installs weak dependencies, adds @core unless --nocore, and checks no package signatures
for the repositories a kickstart names: the converted profile says the same, so the installed
system is the one Anaconda would make, and the comments say where to tighten it.
"""

from __future__ import annotations

import shlex
from typing import Any

from profiles.grub_password import grub_pbkdf2, is_grub_hash
from profiles.kickstart.draft import Draft
from profiles.kickstart.errors import Origin
from profiles.kickstart.reader import Kickstart
from profiles.model import ANACONDA_ROOT

SCRIPT_PHASES = {0: "pre", 1: "post", 3: "pre_install", 4: "on_error"}  # pykickstart's script types
SCRIPT_NAMES = {"pre": "%pre", "post": "%post", "pre_install": "%pre-install", "on_error": "%onerror"}


def _at(ks: Kickstart, obj: Any) -> Origin:
    return ks.origin(getattr(obj, "lineno", None))


def _repository(name: str, obj: Any, draft: Draft, at: Origin, command: str) -> dict[str, Any] | None:
    entry: dict[str, Any] = {"name": name}
    for key, value in (("baseurl", getattr(obj, "baseurl", None) or getattr(obj, "url", None)),
                       ("mirrorlist", obj.mirrorlist), ("metalink", obj.metalink)):
        if value:
            entry[key] = value
    if len(entry) != 2:
        draft.refuse(at, f"{command}: give one of --baseurl (--url), --mirrorlist, --metalink")
        return None
    # Anaconda checks no signatures for a kickstart's repositories; the profile says so, visibly.
    entry["gpgcheck"] = False
    return entry


def convert_payload(ks: Kickstart, draft: Draft) -> None:
    commands = ks.handler.commands
    url = commands["url"]
    if url.seen:
        entry = _repository("anaconda", url, draft, _at(ks, url), "url")
        if entry is not None:
            draft.append(("payload", "repositories"), entry, _at(ks, url), "url")
    for repo in commands["repo"].dataList():
        at = _at(ks, repo)
        entry = _repository(repo.name, repo, draft, at, "repo")
        if entry is None:
            continue
        if repo.cost is not None:
            entry["cost"] = repo.cost
        if repo.includepkgs:
            entry["include"] = list(repo.includepkgs)
        if repo.excludepkgs:
            entry["exclude"] = list(repo.excludepkgs)
        if repo.install:
            entry["install"] = True
        draft.append(("payload", "repositories"), entry, at, "repo")
    if draft.get(("payload", "repositories")):
        draft.warn(_at(ks, url) if url.seen else _at(ks, commands["repo"].dataList()[0]),
                   "package signatures are not checked (as Anaconda does for a kickstart's repositories): "
                   "set gpgcheck: true and gpgkey in the profile to check them")
    _liveimg(ks, draft)
    _packages(ks, draft)
    _bootloader(ks, draft)
    _scripts(ks, draft)


def _liveimg(ks: Kickstart, draft: Draft) -> None:
    live = ks.handler.commands["liveimg"]
    if not live.seen:
        return
    at = _at(ks, live)
    path = live.url.removeprefix("file://")
    if "://" in path:
        draft.refuse(at, f"liveimg --url={live.url}: only a local file (file:// or a path) is supported")
        return
    image: dict[str, Any] = {"path": path}
    if live.checksum:
        image["sha256"] = live.checksum
    draft.set(("payload", "image"), image, at, "liveimg")


def _packages(ks: Kickstart, draft: Draft) -> None:
    packages = ks.handler.packages
    if not packages.seen:
        return
    at = next((s.origin for s in ks.sections if s.name == "%packages"), ks.origin(None))
    where = ("payload",)
    if packages.environment:
        draft.set((*where, "environment"), packages.environment, at, "%packages @^")
    groups = [g.name for g in packages.groupList]
    if not packages.nocore and "core" not in groups:
        groups.insert(0, "core")  # Anaconda's default; --nocore leaves it out
    for group in groups:
        draft.append((*where, "groups"), group, at, "%packages")
    for name in packages.packageList:
        draft.append((*where, "packages"), name, at, "%packages")
    for name in packages.excludedList:
        draft.append((*where, "exclude"), name, at, "%packages -")
    for group in packages.excludedGroupList:
        draft.refuse(at, f"%packages: excluding the group '-@{group.name}' is not supported (exclude its packages)")
    if packages.excludeDocs:
        draft.set((*where, "docs"), False, at, "%packages --excludedocs")
    if packages.handleMissing == 1:  # KS_MISSING_IGNORE
        draft.set((*where, "ignore_missing"), True, at, "%packages --ignoremissing")
    # --instLangs: pykickstart F43 reads it as deprecated, without effect (its warning says so), as Anaconda.
    # Anaconda installs weak dependencies unless told not to; this installer's default is not to.
    draft.set((*where, "install_weak_deps"), not packages.excludeWeakdeps, at, "%packages")


def _bootloader(ks: Kickstart, draft: Draft) -> None:
    loader = ks.handler.commands["bootloader"]
    if not loader.seen:
        return
    at = _at(ks, loader)
    if loader.location == "none" or loader.disabled:
        draft.set(("bootloader", "enabled"), False, at, "bootloader --location=none")
        draft.warn(at, "bootloader --location=none: no boot loader and no initramfs are installed")
    if loader.appendLine:
        try:
            words = shlex.split(loader.appendLine)
        except ValueError as err:
            draft.refuse(at, f"bootloader --append: {err}")
            words = []
        for word in words:
            draft.append(("bootloader", "extra_cmdline"), word, at, "bootloader --append")
    if loader.timeout is not None:
        draft.set(("bootloader", "timeout"), loader.timeout, at, "bootloader --timeout")
    if loader.password:
        if loader.isCrypted and not is_grub_hash(loader.password):
            draft.refuse(at, "bootloader --iscrypted --password: not a GRUB hash (grub.pbkdf2.sha512..., from "
                             "grub2-mkpasswd-pbkdf2)")
        else:  # a plain password is hashed now, as grub2-mkpasswd-pbkdf2 would: the profile never holds it
            hashed = loader.password if loader.isCrypted else grub_pbkdf2(loader.password)
            draft.set(("bootloader", "password_hash"), hashed, at, "bootloader --password")


def _scripts(ks: Kickstart, draft: Draft) -> None:
    for script in ks.handler.scripts:
        phase = SCRIPT_PHASES.get(script.type)
        at = ks.origin(script.lineno)
        if phase is None:
            continue  # %traceback: refused with its section header
        entry: dict[str, Any] = {"body": script.script, "interpreter": script.interp or "/bin/sh",
                                 "name": f"{SCRIPT_NAMES[phase]} at {at}"}
        if phase == "post":
            entry["chroot"] = bool(script.inChroot)
        entry["fail_install"] = bool(script.errorOnFail)  # Anaconda goes on after a failed script
        if script.logfile:
            entry["log"] = script.logfile
        if ANACONDA_ROOT in script.script and not (phase == "post" and script.inChroot):
            draft.warn(at, f"{SCRIPT_NAMES[phase]} names {ANACONDA_ROOT}: the target root is $AZL_TARGET (also "
                       "as $ANA_INSTALL_PATH) and is mounted elsewhere")
        draft.append(("scripts", phase), entry, at, SCRIPT_NAMES[phase])
