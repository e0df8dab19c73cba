"""Time: the profile's NTP servers and pools in chrony's configuration, or chronyd turned off.

The profile's sources replace the server and pool lines the package ships; reference clocks (the
Hyper-V PTP clock the azure step adds) and every other line stay as they are.
"""

from __future__ import annotations

from installer.core.chroot import in_target
from installer.core.files import read_file, write_file
from installer.steps.base import InstallContext, PlanContext, Step, add_packages
from installer.target_tools import installed_units
from profiles import Profile
from profiles.model import TimeSource

CHRONY_CONF = "/etc/chrony.conf"
UNIT = "chronyd.service"


def source_line(source: TimeSource) -> str:
    return f"{'pool' if source.pool else 'server'} {source.host} iburst" + (" nts" if source.nts else "")


def chrony_conf(existing: str, sources: tuple[TimeSource, ...]) -> str:
    kept = [line for line in existing.splitlines() if line.split(maxsplit=1)[:1] not in (["server"], ["pool"])]
    return "\n".join([*kept, "# Time sources from the azl-installer profile", *map(source_line, sources)]) + "\n"


class TimeSyncStep(Step):
    id = "time-sync"
    title = "Configure time synchronization (chrony)"
    doing = "configuring chrony"

    def applies(self, profile: Profile) -> bool:
        return bool(profile.system.time_sources) or not profile.system.ntp

    def amend(self, profile: Profile) -> Profile:
        return add_packages(profile, ["chrony"]) if profile.system.time_sources else profile

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        system = plan.profile.system
        if not system.ntp:
            return (f"systemctl disable {UNIT} (if installed): the clock is not synchronized",)
        return (f"{CHRONY_CONF}: {'; '.join(map(source_line, system.time_sources))} (in place of the shipped "
                "server and pool lines; reference clocks kept)",)

    def run(self, ctx: InstallContext) -> None:
        system = ctx.profile.system
        if not system.ntp:
            if installed_units(ctx.root, [UNIT]):
                ctx.runner.run(in_target(ctx.root, ["systemctl", "disable", UNIT]))
            ctx.events.progress(1.0, "time synchronization off")
            return
        if not (ctx.root / CHRONY_CONF.lstrip("/")).exists() and not installed_units(ctx.root, [UNIT]):
            raise RuntimeError("the profile names time sources, but the payload did not install chrony")
        write_file(ctx.root, CHRONY_CONF, chrony_conf(read_file(ctx.root, CHRONY_CONF), system.time_sources))
        ctx.events.progress(1.0, f"{len(system.time_sources)} time sources")
