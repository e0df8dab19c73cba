"""Payload: the operating system into the mounted target (a root image, then one dnf transaction)."""

from __future__ import annotations

from installer.payload import describe_payload, install_payload, missing_local_sources
from installer.steps.base import InstallContext, PlanContext, Step
from profiles import Problem


class PayloadStep(Step):
    id = "payload"
    title = "Install software"
    doing = "installing software"

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        return tuple(describe_payload(plan.profile.payload, plan.dnf))

    def blockers(self, plan: PlanContext) -> list[Problem]:
        if not plan.host_paths:
            return []  # a plan only shown, or made for another machine: its paths are not this host's
        return [Problem(key, message) for key, message in missing_local_sources(plan.profile.payload)]

    def run(self, ctx: InstallContext) -> None:
        install_payload(ctx.profile.payload, ctx.root, ctx.runner, ctx.events, ctx.workdir)
