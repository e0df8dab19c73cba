"""Profile checks for the azure and cloud_init sections (no I/O: files and URLs are checked by the plan)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from profiles.convert import Problem
from profiles.model import Profile
from profiles.userdata import check_network_config, check_user_data

_WORD = re.compile(r"^[A-Za-z0-9_.+-]+$")
_CMDLINE_ARG = re.compile(r"^[^\s'\"]+$")


def kernel_problems(section: str, cmdline: tuple[str, ...], drivers: tuple[str, ...],
                    cmdline_key: str = "cmdline") -> Iterator[Problem]:
    """Kernel arguments and initramfs module names: both end up in files a shell reads (GRUB's defaults,
    dracut's configuration), so a space or a quote in one would change what those files say."""
    for i, arg in enumerate(cmdline):
        if not _CMDLINE_ARG.match(arg):
            yield Problem((section, cmdline_key, i), "one kernel argument per entry, without spaces or quotes")
    for i, driver in enumerate(drivers):
        if not _WORD.match(driver):
            yield Problem((section, "initramfs_drivers", i), f"'{driver}' is not a kernel module name")


def cloud_init_problems(profile: Profile) -> Iterator[Problem]:
    ci = profile.cloud_init
    if ci is None:
        return
    given = [name for name in ("user_data", "user_data_file", "user_data_url") if getattr(ci, name) is not None]
    if len(given) > 1:
        yield Problem(("cloud_init", given[1]), "give one of user_data, user_data_file, user_data_url",
                      related=(("cloud_init", given[0]),))
    if ci.user_data is not None:
        for issue in check_user_data(ci.user_data):
            yield Problem(("cloud_init", "user_data"), str(issue))
    if ci.user_data_url is not None and not re.match(r"^https?://[^\s/]+", ci.user_data_url):
        yield Problem(("cloud_init", "user_data_url"), "the user-data URL must start with http:// or https://")
    if ci.user_data_file is not None and not ci.user_data_file.strip():
        yield Problem(("cloud_init", "user_data_file"), "the user-data file name is empty")
    if ci.network_config is not None:
        for message in check_network_config(ci.network_config):
            yield Problem(("cloud_init", "network_config"), message)
    if ci.instance_id is not None and not re.match(r"^[A-Za-z0-9_.:-]+$", ci.instance_id):
        yield Problem(("cloud_init", "instance_id"), "use letters, digits and - _ . : in an instance-id")
    for i, name in enumerate(ci.datasources):
        if not re.match(r"^[A-Za-z0-9]+$", name):
            yield Problem(("cloud_init", "datasources", i), f"'{name}' is not a datasource name such as Azure "
                          "or NoCloud")


def azure_problems(profile: Profile) -> Iterator[Problem]:
    azure = profile.azure
    if azure is None or not azure.enabled:
        return
    if not _WORD.match(azure.kernel):
        yield Problem(("azure", "kernel"), f"'{azure.kernel}' is not a package name")
    yield from kernel_problems("azure", azure.cmdline, azure.initramfs_drivers)
    if not 0 <= azure.ssh_keepalive <= 3600:
        yield Problem(("azure", "ssh_keepalive"), "ssh_keepalive is seconds between 0 (off) and 3600")
    storage = profile.storage
    if azure.trusted_launch and storage.auto is not None and storage.auto.boot == "bios":
        yield Problem(("azure", "trusted_launch"), "Trusted Launch needs UEFI: set storage.auto.boot: uefi "
                      "(or both)")
    os_disks = {p.disk for p in storage.partitions
                if p.mount == "/" or any(s.mount == "/" for s in p.subvolumes)}
    for i, part in enumerate(storage.partitions):
        if part.filesystem == "swap" and part.disk in os_disks:
            yield Problem(("storage", "partitions", i, "filesystem"),
                          "no swap partition on the OS disk of an Azure VM: put swap on the resource disk "
                          "(cloud-init) or set azure.enabled: false")
