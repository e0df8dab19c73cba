"""Cloud-init: a NoCloud seed for first boot and the datasource list that fits.

The seed (user-data, meta-data, optional network-config) goes to /var/lib/cloud/seed/nocloud/
of the target, where cloud-init's NoCloud datasource finds it without any extra media. The
datasource list puts Azure first on Azure VMs (the seed then serves other hypervisors and QEMU
tests); NoCloud alone otherwise. User-data is checked before anything is written, also when it
comes from a file or is fetched from a URL at install time.

A root image may hold cloud-init switched off: the installer ISO's live root does (its
/etc/cloud/cloud-init.disabled keeps cloud-init from searching datasources during the live
boot), and an install of that root copies the marker. This step removes it, because a profile
that seeds cloud-init wants it to run; without cloud_init (or azure.cloud_init) the step does not
run and the marker stays, so such a copy boots without cloud-init, as the live system did.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import yaml

from installer.core.events import EventBus
from installer.core.files import inside, write_file
from installer.core.runner import Runner
from installer.steps.base import InstallContext, PlanContext, Step, add_packages, excluded
from installer.target_tools import enable_units, installed_units
from profiles import Problem
from profiles.model import CloudInit, Profile
from profiles.userdata import check_user_data

SEED_DIR = "/var/lib/cloud/seed/nocloud"
AZURE_DATASOURCE_CFG = "/etc/cloud/cloud.cfg.d/91-azure_datasource.cfg"
# 99-: read after the distribution's own drop-ins (Debian's 90_dpkg.cfg sets a datasource_list too,
# and cloud-init lets the last file read win).
DATASOURCE_CFG = "/etc/cloud/cloud.cfg.d/99-azl-installer-datasource.cfg"
# The profile's locale for cloud-init's locale module, which otherwise applies its distribution
# default over the system step's choice (Debian's en_US.UTF-8, which fails where it is not generated).
LOCALE_CFG = "/etc/cloud/cloud.cfg.d/99-azl-installer-locale.cfg"
# cloud-init's systemd generator leaves every cloud-init unit out while this file exists.
DISABLED_MARKER = "/etc/cloud/cloud-init.disabled"
FETCH_TIMEOUT = 30.0  # seconds, for user_data_url
MAX_USER_DATA = 16 * 1024 * 1024  # cloud-init's own limit on Azure is 64 KiB; this only stops runaway downloads
# cloud-init's units across versions (24.4 renamed cloud-init.service to cloud-init-network.service).
UNITS = ("cloud-init-local.service", "cloud-init-main.service", "cloud-init-network.service", "cloud-init.service",
         "cloud-config.service", "cloud-final.service")


class CloudInitError(RuntimeError):
    pass


def _azure_first(profile: Profile) -> bool:
    azure = profile.azure
    return azure is not None and azure.enabled and azure.cloud_init


def needs_cloud_init(profile: Profile) -> bool:
    return profile.cloud_init is not None or _azure_first(profile)


def cloud_init_packages(profile: Profile) -> tuple[str, ...]:
    return ("cloud-init",) if profile.cloud_init is not None else ()


def datasource_list(profile: Profile) -> tuple[str, ...]:
    ci = profile.cloud_init
    if ci is not None and ci.datasources:
        return ci.datasources
    if _azure_first(profile):
        return ("Azure", "NoCloud") if ci is not None else ("Azure",)
    return ("NoCloud",)


def datasource_path(profile: Profile) -> str:
    return AZURE_DATASOURCE_CFG if "Azure" in datasource_list(profile) else DATASOURCE_CFG


def datasource_cfg(profile: Profile, network_manager: bool) -> str:
    text = f"# Written by azl-installer.\ndatasource_list: [ {', '.join(datasource_list(profile))} ]\n"
    if "Azure" in datasource_list(profile) and network_manager:
        # NetworkManager configures the NICs; cloud-init must not write its own network config over it.
        text += "datasource:\n  Azure:\n    apply_network_config: False\n"
    return text


def locale_cfg(profile: Profile) -> str:
    return (f"# Written by azl-installer: the profile's system.locale (user-data's locale: wins).\n"
            f"locale: {profile.system.locale}\n")


def instance_id(profile: Profile) -> str:
    ci = profile.cloud_init
    return ci.instance_id if ci is not None and ci.instance_id else f"iid-{profile.system.hostname}"


def meta_data(profile: Profile) -> str:
    return yaml.safe_dump({"instance-id": instance_id(profile), "local-hostname": profile.system.hostname},
                          sort_keys=False)


def seed_files(ci: CloudInit) -> list[str]:
    return [f"{SEED_DIR}/user-data", f"{SEED_DIR}/meta-data"] + (
        [f"{SEED_DIR}/network-config"] if ci.network_config is not None else [])


def _source(ci: CloudInit) -> str:
    if ci.user_data_url is not None:
        return f"fetched from {ci.user_data_url} at install time (checked then)"
    if ci.user_data_file is not None:
        return f"from {ci.user_data_file}"
    if ci.user_data is not None:
        return f"inline ({len(ci.user_data.splitlines())} lines)"
    return "none given (an empty #cloud-config)"


def plan_details(profile: Profile) -> tuple[str, ...]:
    if not needs_cloud_init(profile):
        return ()
    lines = []
    ci = profile.cloud_init
    if ci is not None:
        lines.append(f"NoCloud seed: {', '.join(seed_files(ci))}")
        lines.append(f"user-data {_source(ci)}; meta-data instance-id {instance_id(profile)}")
    extra = "; Azure apply_network_config: False if the target has NetworkManager" if (
        "Azure" in datasource_list(profile)) else ""
    lines.append(f"{datasource_path(profile)}: datasource_list [ {', '.join(datasource_list(profile))} ]{extra}")
    lines.append(f"{LOCALE_CFG}: locale {profile.system.locale} (system.locale)")
    lines.append(f"systemctl enable the cloud-init units installed ({', '.join(UNITS[:1])}, ...); "
                 f"{DISABLED_MARKER} removed if the payload has it (the installer ISO's live root does)")
    return tuple(lines)


def plan_blockers(profile: Profile) -> list[Problem]:
    ci = profile.cloud_init
    problems = excluded(profile, cloud_init_packages(profile))
    if ci is None or ci.user_data_file is None:
        return problems
    try:
        read_user_data_file(ci.user_data_file)
    except CloudInitError as err:
        problems.append(Problem(("cloud_init", "user_data_file"), str(err)))
    return problems


def _checked(text: str, where: str) -> str:
    issues = check_user_data(text)
    if issues:
        raise CloudInitError(f"{where}: " + "; ".join(str(i) for i in issues))
    return text


def read_user_data_file(path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise CloudInitError(f"cannot read {path}: {reason}") from None
    return _checked(text, path)


def fetch_user_data(url: str, timeout: float = FETCH_TIMEOUT) -> str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = response.read(MAX_USER_DATA + 1)
    except urllib.error.HTTPError as err:
        raise CloudInitError(f"cannot fetch user-data from {url}: HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", None) or err
        raise CloudInitError(f"cannot fetch user-data from {url}: {reason}") from None
    if len(data) > MAX_USER_DATA:
        raise CloudInitError(f"user-data from {url} is larger than {MAX_USER_DATA // 1024**2} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CloudInitError(f"user-data from {url} is not UTF-8 text") from None
    return _checked(text, url)


def user_data(ci: CloudInit, timeout: float = FETCH_TIMEOUT) -> str:
    if ci.user_data_url is not None:
        return fetch_user_data(ci.user_data_url, timeout)
    if ci.user_data_file is not None:
        return read_user_data_file(ci.user_data_file)
    if ci.user_data is not None:
        return _checked(ci.user_data, "cloud_init.user_data")
    return "#cloud-config\n"


def seed_cloud_init(profile: Profile, root: Path, runner: Runner, events: EventBus,
                    timeout: float = FETCH_TIMEOUT) -> None:
    ci = profile.cloud_init
    if ci is not None:
        text = user_data(ci, timeout)  # fetched and checked before anything is written
        write_file(root, f"{SEED_DIR}/user-data", text if text.endswith("\n") else text + "\n", mode=0o600)
        write_file(root, f"{SEED_DIR}/meta-data", meta_data(profile), mode=0o600)
        if ci.network_config is not None:
            write_file(root, f"{SEED_DIR}/network-config", ci.network_config.rstrip("\n") + "\n", mode=0o600)
        inside(root, SEED_DIR).chmod(0o700)
        events.progress(0.5, f"NoCloud seed written to {SEED_DIR} (user-data {_source(ci)})")
    network_manager = any((root / d / "NetworkManager").exists() for d in ("usr/sbin", "usr/bin"))
    write_file(root, datasource_path(profile), datasource_cfg(profile, network_manager))
    write_file(root, LOCALE_CFG, locale_cfg(profile))
    marker = inside(root, DISABLED_MARKER)
    if marker.exists() or marker.is_symlink():
        marker.unlink()
        events.log(f"removed {DISABLED_MARKER} (the payload had cloud-init switched off)")
    units = installed_units(root, UNITS)
    if units:
        enable_units(root, units, runner)
    elif not (root / "usr/bin/cloud-init").exists():
        events.log("the target has no cloud-init: the seed stays unused until it is installed", level="warning")
    events.progress(1.0, f"datasource_list [ {', '.join(datasource_list(profile))} ]")


class CloudInitStep(Step):
    id = "cloud-init"
    title = "Seed cloud-init for first boot"
    doing = "seeding cloud-init for first boot"

    def applies(self, profile: Profile) -> bool:
        return needs_cloud_init(profile)

    def amend(self, profile: Profile) -> Profile:
        return add_packages(profile, cloud_init_packages(profile))

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        return plan_details(plan.profile)

    def blockers(self, plan: PlanContext) -> list[Problem]:
        return plan_blockers(plan.profile)

    def run(self, ctx: InstallContext) -> None:
        seed_cloud_init(ctx.profile, ctx.root, ctx.runner, ctx.events)
