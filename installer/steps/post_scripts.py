"""Post-install scripts: run last, chrooted into the target unless a script says chroot: false."""

from __future__ import annotations

from installer.steps.base import InstallContext, PlanContext, Step
from installer.steps.scripts import run_scripts, script_names
from profiles import Profile


class PostScriptsStep(Step):
    id = "post-scripts"
    title = "Run post-install scripts"
    doing = "post-install scripts"

    def applies(self, profile: Profile) -> bool:
        return bool(profile.scripts.post)

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        scripts = plan.profile.scripts.post
        where = {True: "inside the target (chroot)", False: "on the installer, AZL_TARGET = the target root"}
        return tuple(f"{name} ({where[s.chroot]})" for name, s in zip(script_names(scripts, "post"), scripts,
                                                                            strict=True))

    def run(self, ctx: InstallContext) -> None:
        run_scripts(ctx.profile.scripts.post, "post", ctx.runner, ctx.events, target=ctx.root, workdir=ctx.workdir)
