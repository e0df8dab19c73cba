"""Finish: the log, the plan and the profile (secrets removed) into the target, then unmount.

Unmounting here is the normal ending; the engine's teardown does the same for every other way an
install can end, so the target is never left mounted or its volumes open.
"""

from __future__ import annotations

from installer.core.files import inside, write_file
from installer.steps.base import InstallContext, PlanContext, Step
from installer.steps.selinux import label
from profiles import dump_profile
from storage.stack_apply import deactivate_groups, stop_raids

TARGET_LOG_DIR = "/var/log/azl-installer"
PROFILE_HEADER = "# The profile this system was installed with (secrets removed).\n"


def unmount(ctx: InstallContext) -> None:
    """Unmount the target, close the encrypted volumes on logical volumes, deactivate the volume groups,
    close the other encrypted volumes, stop the arrays (each layer before the one under it); what stays
    is logged as an error."""
    failed = ctx.mounts.unmount_all(ctx.runner, ctx.events)
    if failed:
        ctx.events.log(f"could not unmount: {', '.join(failed)}", level="error")
    closed_not: list[str] = []
    if ctx.encrypted is not None:  # LUKS2 volumes on logical volumes, before their groups go
        closed_not += ctx.encrypted.close_all([v.device for g in ctx.storage.groups for v in g.volumes])
    if ctx.built:
        deactivate_groups(ctx.storage.groups, ctx.runner, ctx.events, ctx.built)
    if ctx.encrypted is not None:
        closed_not += ctx.encrypted.close_all()
    if closed_not:
        ctx.events.log(f"could not close: {', '.join(closed_not)}", level="error")
    if ctx.built:
        stop_raids(ctx.storage, ctx.runner, ctx.events, ctx.built)
        ctx.built.clear()


class FinishStep(Step):
    id = "finish"
    title = f"Save logs and the profile to {TARGET_LOG_DIR}, unmount"
    doing = "saving logs and unmounting"

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        return (f"{TARGET_LOG_DIR}/profile.yaml (secrets removed), plan.txt, the install log and events",
                "unmount the target" + (", close the LUKS2 volumes" if plan.profile.encryption is not None
                                        and plan.profile.encryption.enabled else ""))

    def run(self, ctx: InstallContext) -> None:
        write_file(ctx.root, f"{TARGET_LOG_DIR}/profile.yaml", PROFILE_HEADER + dump_profile(ctx.profile, redact=True),
                   mode=0o600)
        write_file(ctx.root, f"{TARGET_LOG_DIR}/plan.txt", ctx.plan_text + "\n", mode=0o600)
        inside(ctx.root, TARGET_LOG_DIR).chmod(0o700)
        ctx.events.log(f"logs and profile saved to {TARGET_LOG_DIR}")
        for path in ctx.host_logs:
            if path.exists():
                write_file(ctx.root, f"{TARGET_LOG_DIR}/{path.name}", path.read_bytes(), mode=0o600)
        label(ctx, [TARGET_LOG_DIR])  # written after the selinux-relabel step
        unmount(ctx)
