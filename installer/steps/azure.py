"""Azure: an installed system that boots, provisions and keeps time on Azure.

Azure Linux ships the pieces (the Azure kernel, WALinuxAgent, cloud-init, azure-vm-utils,
hyperv-daemons, chrony); the installer adds them to the payload's one dnf transaction
(amend(), applied when the plan is made) and then writes only what the packages
leave at generic defaults: waagent.conf settings, chrony's Hyper-V PTP clock, an sshd
keep-alive drop-in, and the SR-IOV udev rule where no package ships one. Sources for each
setting: docs/azure.md.
"""

from __future__ import annotations

import glob
from dataclasses import replace
from pathlib import Path

from installer.core.events import EventBus
from installer.core.files import read_file, write_file
from installer.core.runner import Runner
from installer.steps.base import InstallContext, PlanContext, Step, add_packages, excluded
from installer.target_tools import enable_units, installed_units
from profiles import Problem
from profiles.model import Azure, Profile


class AzureError(RuntimeError):
    pass


WAAGENT_CONF = "/etc/waagent.conf"
CHRONY_CONF = "/etc/chrony.conf"
SSHD_DROPIN = "/etc/ssh/sshd_config.d/40-azl-azure.conf"
SRIOV_RULE = "/etc/udev/rules.d/10-azure-unmanaged-sriov.rules"
PTP_REFCLOCK = "refclock PHC /dev/ptp_hyperv poll 3 dpoll -2 offset 0 stratum 2"
MAKESTEP = "makestep 1.0 -1"
SRIOV_RULE_TEXT = (
    "# Written by azl-installer. Accelerated networking bonds SR-IOV virtual functions (mana, mlx4,\n"
    "# mlx5) to the synthetic hv_netvsc NIC: leave a VF with IFF_SLAVE set to the NIC, unmanaged.\n"
    'SUBSYSTEM=="net", ACTION!="remove", DRIVERS=="mana|mlx4_core|mlx5_core", ATTR{flags}=="0x?[89ABCDEF]??", '
    'ENV{NM_UNMANAGED}="1"\n'
)
SECURE_BOOT_PACKAGES = ("shim-x64", "grub2-efi-x64")


def enabled(profile: Profile) -> Azure | None:
    return profile.azure if profile.azure is not None and profile.azure.enabled else None


def waagent_settings(azure: Azure) -> dict[str, str]:
    # cloud-init provisions and owns the resource disk; the agent must not format it or put swap there.
    return {"Provisioning.Agent": azure.provisioning, "ResourceDisk.Format": "n", "ResourceDisk.EnableSwap": "n",
            "OS.RootDeviceScsiTimeout": "300"}


def azure_packages(azure: Azure) -> tuple[str, ...]:
    """The distribution packages an Azure VM needs, by switch, in install order."""
    wanted = [azure.kernel]
    wanted += ["WALinuxAgent"] if azure.agent else []
    wanted += ["cloud-init", "cloud-utils-growpart"] if azure.cloud_init else []
    wanted += ["azure-vm-utils"] if azure.vm_utils else []
    wanted += ["hyperv-daemons"] if azure.hyperv_daemons else []
    wanted += ["chrony"] if azure.chrony else []
    wanted += list(SECURE_BOOT_PACKAGES) if azure.trusted_launch else []
    return tuple(wanted)


def plan_details(profile: Profile, uefi: bool) -> tuple[str, ...]:
    azure = enabled(profile)
    if azure is None:
        return ()
    lines = [f"packages (in the payload's dnf transaction): {', '.join(azure_packages(azure))}"
             if profile.payload.repositories else
             f"no repositories: the root image must already hold {', '.join(azure_packages(azure))}"]
    if azure.agent:
        settings = ", ".join(f"{k}={v}" for k, v in waagent_settings(azure).items())
        lines.append(f"{WAAGENT_CONF}: {settings} (other lines kept)")
    if azure.chrony:
        lines.append(f"{CHRONY_CONF}: {PTP_REFCLOCK}; {MAKESTEP} (other lines kept)")
    if azure.ssh_keepalive:
        lines.append(f"{SSHD_DROPIN}: ClientAliveInterval {azure.ssh_keepalive}")
    if azure.accelerated_networking:
        lines.append(f"{SRIOV_RULE}: SR-IOV VFs unmanaged (only if no installed package ships such a rule)")
    units = _units(azure)
    if units:
        lines.append(f"systemctl enable {' '.join(units)} (those installed)")
    lines.append(f"kernel command line adds {' '.join(azure.cmdline) or 'nothing'}; initramfs drivers "
                 f"{' '.join(azure.initramfs_drivers) or 'unchanged'} (bootloader step)")
    lines.append("no swap on the OS disk (waagent ResourceDisk.EnableSwap=n; swap partitions refused)")
    if azure.trusted_launch:
        lines.append(f"Trusted Launch: UEFI {'yes' if uefi else 'NO'}; Secure Boot chain shim -> GRUB -> kernel "
                     "signed by the distribution (EFI/BOOT fallback); vTPM measured by firmware and shim")
    return tuple(lines)


def plan_blockers(profile: Profile, uefi: bool) -> list[Problem]:
    azure = enabled(profile)
    if azure is None:
        return []
    blockers = excluded(profile, azure_packages(azure))
    if azure.trusted_launch and not uefi:
        blockers.append(Problem(("azure", "trusted_launch"), "Trusted Launch needs UEFI boot, but the layout has no "
                                "EFI system partition at /boot/efi"))
    return blockers


def with_boot_settings(profile: Profile, azure: Azure) -> Profile:
    """The boot loader's command line and initramfs drivers with Azure's added (each once)."""
    bootloader = profile.bootloader
    have, drivers = (*bootloader.cmdline, *bootloader.extra_cmdline), bootloader.initramfs_drivers
    changed = replace(bootloader,
                      extra_cmdline=(*bootloader.extra_cmdline, *(a for a in azure.cmdline if a not in have)),
                      initramfs_drivers=(*drivers, *(d for d in azure.initramfs_drivers if d not in drivers)))
    return profile if changed == bootloader else replace(profile, bootloader=changed)


def _units(azure: Azure) -> tuple[str, ...]:
    return (("waagent.service",) if azure.agent else ()) + (("chronyd.service",) if azure.chrony else ())


def set_keys(existing: str, values: dict[str, str], sep: str = "=") -> str:
    """existing with each key's line replaced in place (or appended), every other line kept."""
    lines, done = [], set()
    for line in existing.splitlines():
        key = line.split(sep, 1)[0].strip() if sep in line and not line.lstrip().startswith("#") else None
        if key in values:
            if key not in done:
                lines.append(f"{key}{sep}{values[key]}")
                done.add(key)
            continue
        lines.append(line)
    lines += [f"{k}{sep}{v}" for k, v in values.items() if k not in done]
    return "\n".join(lines) + "\n"


def chrony_conf(existing: str) -> str:
    """chrony.conf with the Hyper-V PTP clock as reference and unlimited stepping (VMs resume from pause)."""
    lines = [MAKESTEP if line.split()[:1] == ["makestep"] else line for line in existing.splitlines()]
    if MAKESTEP not in lines:
        lines.append(MAKESTEP)
    if not any(line.startswith("refclock PHC /dev/ptp_hyperv") for line in lines):
        lines += ["# Azure: the Hyper-V host's clock (azl-installer)", PTP_REFCLOCK]
    return "\n".join(lines) + "\n"


def _ships_sriov_rule(root: Path) -> bool:
    for folder in ("usr/lib/udev/rules.d", "lib/udev/rules.d", "etc/udev/rules.d"):
        for rule in sorted((root / folder).glob("*.rules")) if (root / folder).is_dir() else []:
            text = rule.read_text(errors="replace")
            if "NM_UNMANAGED" in text and ("mlx5_core" in text or "mana" in text):
                return True
    return False


def configure_azure(profile: Profile, root: Path, runner: Runner, events: EventBus) -> None:
    azure = enabled(profile)
    if azure is None:
        return
    if azure.agent:
        existing = read_file(root, WAAGENT_CONF)
        if not existing:
            events.log(f"{WAAGENT_CONF} was not installed by WALinuxAgent: writing the Azure settings alone",
                       level="warning")
        write_file(root, WAAGENT_CONF, set_keys(existing, waagent_settings(azure)))
        events.progress(0.2, f"{WAAGENT_CONF}: Provisioning.Agent={azure.provisioning}, no resource disk swap")
    if azure.chrony:
        write_file(root, CHRONY_CONF, chrony_conf(read_file(root, CHRONY_CONF)))
        events.progress(0.4, f"{CHRONY_CONF}: time from /dev/ptp_hyperv")
    if azure.ssh_keepalive:
        write_file(root, SSHD_DROPIN, "# Written by azl-installer: keep idle sessions open through Azure's load "
                   f"balancers.\nClientAliveInterval {azure.ssh_keepalive}\n", mode=0o600)
    if azure.accelerated_networking:
        if _ships_sriov_rule(root):
            events.log("SR-IOV: an installed package already leaves the VFs unmanaged")
        else:
            write_file(root, SRIOV_RULE, SRIOV_RULE_TEXT)
    if azure.trusted_launch:
        shims = sorted(glob.glob(str(root / "boot/efi/EFI/*/shimx64.efi")))
        if not shims:
            raise AzureError("Trusted Launch needs the signed shim, but the payload installed no "
                             "/boot/efi/EFI/*/shimx64.efi: add the shim and grub2-efi-x64 packages")
        events.log(f"Secure Boot chain: {Path(shims[0]).relative_to(root)}")
    units = installed_units(root, _units(azure))
    if units:
        enable_units(root, units, runner)
    events.progress(1.0, "Azure configuration written")


class AzureStep(Step):
    id = "azure"
    title = "Configure the target for Azure"
    doing = "configuring the target for Azure"

    def applies(self, profile: Profile) -> bool:
        return enabled(profile) is not None

    def amend(self, profile: Profile) -> Profile:
        azure = enabled(profile)
        assert azure is not None
        return with_boot_settings(add_packages(profile, azure_packages(azure)), azure)

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        return plan_details(plan.profile, plan.firmware.uefi)

    def blockers(self, plan: PlanContext) -> list[Problem]:
        return plan_blockers(plan.profile, plan.firmware.uefi)

    def run(self, ctx: InstallContext) -> None:
        configure_azure(ctx.profile, ctx.root, ctx.runner, ctx.events)
