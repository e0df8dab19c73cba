"""Label every file of the target from its own SELinux policy, last, after everything the installer wrote.

rpm labels what it installs only when the installer's kernel runs SELinux; the installer's own files
(fstab, accounts, cloud-init seed, scripts' output) are never labelled. So, as Anaconda does at its end,
the target's own setfiles labels the whole target in place, chrooted, with the target's policy: the
first boot needs no /.autorelabel and no extra reboot.
"""

from __future__ import annotations

from installer.steps.base import InstallContext, PlanContext, Step
from installer.steps.selinux import label, policy_type, relabel_argv
from profiles import Profile
from storage.layout import StoragePlan


def labelled_mounts(storage: StoragePlan) -> list[str]:
    """/ and every mount point of the layout whose filesystem holds labels (not the vfat ESP)."""
    mounts = [mount for mount, part, _ in storage.mounts() if part.filesystem != "vfat"]
    return ["/", *(m for m in mounts if m != "/")]


class RelabelStep(Step):
    id = "selinux-relabel"
    title = "Label the installed files for SELinux"
    doing = "labelling files for SELinux"

    def applies(self, profile: Profile) -> bool:
        return profile.system.selinux != "disabled"

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        return ("chroot TARGET " + " ".join(relabel_argv("<SELINUXTYPE>", labelled_mounts(plan.storage))),
                "SELINUXTYPE from the target's /etc/selinux/config; skipped when the payload has no policy",
                "the finish step labels the logs it saves the same way")

    def run(self, ctx: InstallContext) -> None:
        paths, policy = labelled_mounts(ctx.storage), policy_type(ctx.root)
        if policy is None:
            ctx.events.log("no SELinux policy in the target: nothing to label", level="warning")
            return
        ctx.events.progress(0.1, f"setfiles with the target's {policy} policy: {' '.join(paths)}")
        label(ctx, paths)
        ctx.events.progress(1.0, "every file labelled")
