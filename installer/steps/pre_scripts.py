"""Pre-install scripts: run on the installer's own system before anything is written."""

from __future__ import annotations

from installer.steps.base import InstallContext, PlanContext, Step
from installer.steps.scripts import run_scripts, script_names
from profiles import Profile


class PreScriptsStep(Step):
    id = "pre-scripts"
    title = "Run pre-install scripts"
    doing = "pre-install scripts"

    def applies(self, profile: Profile) -> bool:
        return bool(profile.scripts.pre)

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        return tuple(f"{name} (on the installer's system)" for name in script_names(plan.profile.scripts.pre, "pre"))

    def run(self, ctx: InstallContext) -> None:
        run_scripts(ctx.profile.scripts.pre, "pre", ctx.runner, ctx.events, target=None, workdir=ctx.workdir)
