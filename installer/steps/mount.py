"""Mount: the new filesystems under the target root, then /proc, /sys and /dev for in-target commands."""

from __future__ import annotations

from installer.steps.base import InstallContext, PlanContext, Step
from storage.apply import mount_target


class MountStep(Step):
    id = "mount"
    title = "Mount the target"
    doing = "mounting the target"

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        return (*(f"{m} <- {h.device}" + (f" subvol={s.name}" if s else "")
                  for m, h, s in plan.storage.mounts()),
                "/proc, /sys and /dev (bind) for commands run inside the target")

    def run(self, ctx: InstallContext) -> None:
        ctx.events.log(f"target root: {ctx.root}")
        mount_target(ctx.storage, ctx.mounts, ctx.runner, ctx.opened)
