"""Firewall: firewalld in the installed system, set up offline with the target's own firewall-offline-cmd.

Enabled, firewalld joins the payload's transaction (as Anaconda adds it for a kickstart's firewall
command) and its unit is enabled; disabled, the unit is disabled if some package brought it anyway.
"""

from __future__ import annotations

from installer.core.chroot import in_target
from installer.core.runner import Arg
from installer.steps.base import InstallContext, PlanContext, Step, add_packages
from installer.target_tools import installed_units
from profiles import Profile
from profiles.model import Firewall

UNIT = "firewalld.service"


def offline_commands(firewall: Firewall) -> list[list[Arg]]:
    """firewall-offline-cmd calls, each one change, in the order firewalld applies them."""
    zone = [f"--zone={firewall.zone}"] if firewall.zone else []
    commands: list[list[Arg]] = []
    if firewall.zone:
        commands.append(["firewall-offline-cmd", f"--set-default-zone={firewall.zone}"])
    commands += [["firewall-offline-cmd", *zone, f"--remove-service={s}"] for s in firewall.remove_services]
    commands += [["firewall-offline-cmd", *zone, f"--add-service={s}"] for s in firewall.services]
    commands += [["firewall-offline-cmd", *zone, f"--add-port={p}"] for p in firewall.ports]
    commands += [["firewall-offline-cmd", "--zone=trusted", f"--add-interface={i}"]
                 for i in firewall.trusted_interfaces]
    return commands


class FirewallStep(Step):
    id = "firewall"
    title = "Configure the firewall (firewalld)"
    doing = "configuring the firewall"

    def applies(self, profile: Profile) -> bool:
        return profile.firewall is not None

    def amend(self, profile: Profile) -> Profile:
        return add_packages(profile, ["firewalld"]) if profile.firewall and profile.firewall.enabled else profile

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        firewall = plan.profile.firewall
        assert firewall is not None
        if not firewall.enabled:
            return (f"systemctl disable {UNIT} (if a package installed it)",)
        opened = ", ".join([*firewall.services, *firewall.ports]) or "the zone's defaults"
        line = f"default zone {firewall.zone or 'as firewalld ships it (public)'}; open: {opened}"
        if firewall.remove_services:
            line += f"; closed: {', '.join(firewall.remove_services)}"
        if firewall.trusted_interfaces:
            line += f"; trusted: {', '.join(firewall.trusted_interfaces)}"
        return (f"firewalld (in the payload), systemctl enable {UNIT}", line,
                "with the target's firewall-offline-cmd, in a chroot")

    def run(self, ctx: InstallContext) -> None:
        firewall = ctx.profile.firewall
        assert firewall is not None
        installed = bool(installed_units(ctx.root, [UNIT]))
        if not firewall.enabled:
            if installed:
                ctx.runner.run(in_target(ctx.root, ["systemctl", "disable", UNIT]))
            ctx.events.progress(1.0, "firewall disabled")
            return
        if not installed:
            raise RuntimeError("the profile enables the firewall, but the payload did not install firewalld "
                               f"(no {UNIT} in the target)")
        for argv in offline_commands(firewall):
            ctx.runner.run(in_target(ctx.root, argv))
        ctx.runner.run(in_target(ctx.root, ["systemctl", "enable", UNIT]))
        ctx.events.progress(1.0, "firewall enabled")
