"""Payload: the operating system into the mounted target (a root image, then one dnf transaction)."""

from __future__ import annotations

from installer.payload import describe_payload, install_payload
from installer.steps.base import InstallContext, PlanContext, Step


class PayloadStep(Step):
    id = "payload"
    title = "Install software"
    doing = "installing software"

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        return tuple(describe_payload(plan.profile.payload, plan.dnf))

    def run(self, ctx: InstallContext) -> None:
        install_payload(ctx.profile.payload, ctx.root, ctx.runner, ctx.events, ctx.workdir)
