"""The Plan: what an install will do, in order, with every destructive action spelled out.

A Plan is computed from a Profile and an Inventory without touching anything: every step of the
registry (installer/steps) that applies to the profile adds what it needs to the profile, then says
how it shows in the plan and why this machine could not carry it out. It is what `azl-installer plan`
prints, what the UI's Review shows, and what the Engine runs, step for step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from installer.steps import STEPS, PlanContext, Step
from installer.steps.storage import destructive_actions
from profiles import Problem, Profile
from profiles.convert import path_text
from storage.inventory import Inventory
from storage.layout import LayoutError, StoragePlan, plan_storage


class PlanError(ValueError):
    """The profile cannot be planned on this machine; one line naming the setting, and that as data."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class PlanStep:
    id: str
    title: str
    details: tuple[str, ...] = ()
    step: Step | None = field(default=None, compare=False, repr=False)  # what the engine runs


@dataclass(frozen=True)
class Plan:
    profile: Profile  # with every step's additions (the Azure packages in the payload, ...)
    storage: StoragePlan
    steps: tuple[PlanStep, ...]
    destructive: tuple[str, ...]  # every change to a disk, in the order it happens
    untouched: tuple[str, ...]  # disks that stay byte-identical
    blockers: tuple[Problem, ...]  # reasons this machine cannot carry the plan out

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": [{"id": s.id, "title": s.title, "details": list(s.details)} for s in self.steps],
            "destructive": list(self.destructive),
            "untouched": list(self.untouched),
            "blockers": [{"key": b.key, "section": b.section, "message": b.message,
                          "related": [path_text(r) for r in b.related], "text": str(b)} for b in self.blockers],
            "disks": [
                {
                    "path": t.disk.path,
                    "size": t.disk.size,
                    "partitions": [
                        {"number": p.number, "device": p.device(t.disk.path), "start": p.start, "size": p.size,
                         "filesystem": p.filesystem, "mount": p.mount, "label": p.label,
                         "type": p.type_guid, "subvolumes": [[s.name, s.mount] for s in p.subvolumes]}
                        for p in t.partitions
                    ],
                }
                for t in self.storage.targets
            ],
            "raids": [{"device": r.device, "level": r.level, "members": [m.device for m in r.members],
                       "size": r.size, "filesystem": r.filesystem, "mount": r.mount,
                       "volume_group": r.volume_group} for r in self.storage.raids],
            "volume_groups": [{"name": g.name, "physical_volumes": [m.device for m in g.pvs], "size": g.size,
                               "encrypted": g.encrypted,
                               "logical_volumes": [{"device": v.device, "size": v.size, "grow": v.grow,
                                                    "filesystem": v.filesystem, "mount": v.mount}
                                                   for v in g.volumes]} for g in self.storage.groups],
        }

    def render(self) -> str:
        lines = ["Install plan", "", "Destructive actions:"]
        lines += [f"  ! {d}" for d in self.destructive]
        lines += ["", "Left untouched:"] + ([f"  = {u}" for u in self.untouched] or ["  (no other disks)"])
        lines += ["", "Steps:"]
        for number, step in enumerate(self.steps, start=1):
            lines.append(f"  {number}. {step.title}")
            lines += [f"       {d}" for d in step.details]
        if self.blockers:
            lines += ["", "This machine cannot carry out the plan:"] + [f"  x {b}" for b in self.blockers]
        return "\n".join(lines)


def effective_profile(profile: Profile, steps: tuple[Step, ...] = STEPS) -> Profile:
    """The profile with what each applying step needs from the others (packages, kernel arguments)."""
    for step in steps:
        if step.applies(profile):
            profile = step.amend(profile)
    return profile


def make_plan(profile: Profile, inventory: Inventory, *, kernel_filesystems: str | None = None,
              device_mapper: bool | None = None, dnf: str | None = None, tpm2: bool | None = None,
              host_paths: bool = False, steps: tuple[Step, ...] = STEPS) -> Plan:
    """kernel_filesystems, device_mapper, dnf and tpm2 describe the machine that installs (None: not checked,
    the host's /proc/misc and /sys/class/tpmrm; dnf not named); a dry-run passes its recorded machine's.
    host_paths: this host installs, so the profile's local paths (repositories, a root image) must exist here."""
    profile = effective_profile(profile, steps)
    try:
        storage = plan_storage(profile.storage, inventory)
    except LayoutError as err:
        raise PlanError(err.problem) from None
    context = PlanContext(profile, storage, kernel_filesystems, device_mapper=device_mapper, dnf=dnf, tpm2=tpm2,
                          host_paths=host_paths)
    chosen = [step for step in steps if step.applies(profile)]
    untouched = [f"{d.describe()} (leave_alone)" for d in storage.left_alone]
    untouched += [f"{d.describe()} (not in the profile)" for d in storage.unused]
    return Plan(profile, storage,
                steps=tuple(PlanStep(s.id, s.title, s.describe(context), s) for s in chosen),
                destructive=destructive_actions(context), untouched=tuple(untouched),
                blockers=tuple(b for s in chosen for b in s.blockers(context)))


def plan_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2)
