"""Pre-install scripts (kickstart's %pre-install): after the target is mounted, before the packages.

They run on the installer's system with AZL_TARGET set to the target root, as Anaconda runs them,
so they can put files (repository definitions, certificates) in place for the payload.
"""

from __future__ import annotations

from dataclasses import replace

from installer.steps.base import InstallContext, PlanContext, Step
from installer.steps.scripts import run_scripts, script_names
from profiles import Profile


class PreInstallScriptsStep(Step):
    id = "pre-install-scripts"
    title = "Run pre-install scripts"
    doing = "pre-install scripts"

    def applies(self, profile: Profile) -> bool:
        return bool(profile.scripts.pre_install)

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        return tuple(f"{name} (on the installer, AZL_TARGET = the mounted target root)"
                     for name in script_names(plan.profile.scripts.pre_install, "pre-install"))

    def run(self, ctx: InstallContext) -> None:
        # chroot: False whatever the script says: the target holds no system yet to run it in.
        scripts = tuple(replace(s, chroot=False) for s in ctx.profile.scripts.pre_install)
        run_scripts(scripts, "pre-install", ctx.runner, ctx.events, target=ctx.root, workdir=ctx.workdir)
