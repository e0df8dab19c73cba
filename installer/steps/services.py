"""Services: the profile's units enabled and disabled, after every unit the other steps enabled.

Run after them on purpose: a profile that disables what the azure or network step turned on wins.
"""

from __future__ import annotations

from installer.core.chroot import in_target
from installer.steps.base import InstallContext, PlanContext, Step
from installer.target_tools import installed_units
from profiles import Profile


def unit_name(name: str) -> str:
    """systemctl's own rule: a name without a unit type is a .service."""
    return name if "." in name.rsplit("@", 1)[-1] else f"{name}.service"


class ServicesStep(Step):
    id = "services"
    title = "Enable and disable services"
    doing = "enabling and disabling services"

    def applies(self, profile: Profile) -> bool:
        return bool(profile.services.enable or profile.services.disable)

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        services = plan.profile.services
        lines = [f"systemctl enable {' '.join(services.enable)}"] if services.enable else []
        lines += [f"systemctl disable {' '.join(services.disable)} (those installed)"] if services.disable else []
        return tuple(lines)

    def run(self, ctx: InstallContext) -> None:
        services = ctx.profile.services
        enable = [unit_name(n) for n in services.enable]
        missing = [u for u in enable if "@" not in u and not installed_units(ctx.root, [u])]
        if missing:
            raise RuntimeError(f"cannot enable {', '.join(missing)}: not installed by the payload")
        if enable:
            ctx.runner.run(in_target(ctx.root, ["systemctl", "enable", *enable]))
        # Disabling what is not there is no error (Anaconda's kickstart does the same): nothing runs it.
        disable = installed_units(ctx.root, [unit_name(n) for n in services.disable])
        if disable:
            ctx.runner.run(in_target(ctx.root, ["systemctl", "disable", *disable]))
        ctx.events.progress(1.0, f"enabled {len(enable)}, disabled {len(disable)}")
