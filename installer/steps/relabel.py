"""Label every file of the target from its own SELinux policy, last, after everything the installer wrote.

rpm labels what it installs only when the installer's kernel runs SELinux; the installer's own files
(fstab, accounts, cloud-init seed, scripts' output) are never labelled. So, as Anaconda does at its end,
the target's own setfiles labels the whole target in place, chrooted, with the target's policy: the
first boot needs no /.autorelabel and no extra reboot.
"""

from __future__ import annotations

from installer.core.chroot import in_target
from installer.steps.base import InstallContext, PlanContext, Step
from installer.steps.selinux import policy_type, relabel_argv
from profiles import Profile


class RelabelStep(Step):
    id = "selinux-relabel"
    title = "Label the installed files for SELinux"
    doing = "labelling files for SELinux"

    def applies(self, profile: Profile) -> bool:
        return profile.system.selinux != "disabled"

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        return ("chroot TARGET " + " ".join(relabel_argv("<SELINUXTYPE>")),
                "SELINUXTYPE from the target's /etc/selinux/config; skipped when the payload has no policy")

    def run(self, ctx: InstallContext) -> None:
        policy = policy_type(ctx.root)
        if policy is None:
            ctx.events.log("no SELinux policy in the target: nothing to label", level="warning")
            return
        ctx.events.progress(0.1, f"setfiles with the target's {policy} policy")
        ctx.runner.run(in_target(ctx.root, relabel_argv(policy)))
        ctx.events.progress(1.0, "every file labelled")
