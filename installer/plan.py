"""The Plan: what an install will do, in order, with every destructive action spelled out.

A Plan is computed from a Profile and an Inventory without touching anything. It is what
`azl-installer plan` prints, what the UI's review screen shows, and what the Engine runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from installer.azure import effective_profile, target_blockers, target_steps
from installer.bootloader import cmdline, firmware_of
from installer.encryption_plan import encrypted_partitions, encryption_step
from installer.payload import describe_payload
from profiles import Profile
from profiles.sizes import format_size
from storage.apply import missing_kernel_features
from storage.inventory import Inventory
from storage.layout import LayoutError, StoragePlan, plan_storage
from storage.luks import encryption_blocker


class PlanError(ValueError):
    """The profile cannot be planned on this machine; one line naming the setting."""


@dataclass(frozen=True)
class PlanStep:
    id: str
    title: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    profile: Profile
    storage: StoragePlan
    steps: tuple[PlanStep, ...]
    destructive: tuple[str, ...]  # every change to a disk, in the order it happens
    untouched: tuple[str, ...]  # disks that stay byte-identical
    blockers: tuple[str, ...]  # reasons this machine cannot carry the plan out

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": [{"id": s.id, "title": s.title, "details": list(s.details)} for s in self.steps],
            "destructive": list(self.destructive),
            "untouched": list(self.untouched),
            "blockers": list(self.blockers),
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


def encryption_refusals(profile: Profile) -> list[str]:
    """What the profile's encryption asks for that this machine or version cannot do: refuse, never pretend.
    Also the UI's Encryption screen's warning, so both say the same."""
    reasons = []
    rpm_payload = profile.payload.image is None  # dnf repositories: an RPM distribution, booting with dracut
    encryption = encryption_blocker(profile.encryption, rpm_payload=rpm_payload)  # what this machine lacks
    if encryption is not None:
        reasons.append(encryption)
    enc = profile.encryption
    if enc is not None and enc.enabled and enc.ca_bundle and not Path(enc.ca_bundle).is_file():
        # read at install time (vault TLS) and copied into the target: missing, it would fail mid-install
        reasons.append(f"encryption.ca_bundle: {enc.ca_bundle} is not a readable file")
    return reasons


def make_plan(profile: Profile, inventory: Inventory, *, kernel_filesystems: str | None = None) -> Plan:
    profile = effective_profile(profile)  # azure/cloud_init packages join the payload, cmdline the bootloader
    try:
        storage = plan_storage(profile.storage, inventory)
    except LayoutError as err:
        raise PlanError(str(err)) from None
    destructive: list[str] = []
    enc = profile.encryption
    encrypted = {p.device for p in encrypted_partitions(storage, enc.volumes)} if enc and enc.enabled else set()
    for target in storage.targets:
        existing = len(target.disk.partitions)
        was = f" (holds {existing} partition{'s' if existing != 1 else ''} now)" if existing else ""
        destructive.append(f"erase {target.disk.describe()}{was} and write a new GPT partition table")
        for part in target.partitions:
            what = part.mount or (", ".join(s.mount for s in part.subvolumes)) or part.filesystem
            fs = "" if part.filesystem in ("biosboot", "none") else f", format {part.filesystem}"
            luks = ", LUKS2-encrypted" if part.device(target.disk.path) in encrypted else ""
            destructive.append(f"create {part.device(target.disk.path)} {format_size(part.size)} "
                               f"({what}){luks}{fs}")
    untouched = [f"{d.describe()} (leave_alone)" for d in storage.left_alone]
    untouched += [f"{d.describe()} (not in the profile)" for d in storage.unused]
    mounts = [f"{m} <- {p.device(t.disk.path)}" + (f" subvol={s.name}" if s else "")
              for m, p, t, s in storage.mounts()]
    scripts = profile.scripts
    users = [u.name for u in profile.users]
    root_state = "locked" if profile.root.locked else "password set"
    steps = [
        PlanStep("pre-scripts", "Run pre-install scripts", tuple(_script_names(scripts.pre))) if scripts.pre else None,
        *([PlanStep(*encryption_step(profile.encryption, storage, profile.system.hostname))]
          if profile.encryption is not None and profile.encryption.enabled else []),
        PlanStep("storage", "Partition and format disks", tuple(d for d in destructive)),
        PlanStep("mount", "Mount the target", tuple(mounts)),
        PlanStep("payload", "Install software", tuple(describe_payload(profile.payload))),
        PlanStep("system", "Configure the system", (
            "/etc/fstab (by UUID)",
            f"host name {profile.system.hostname}; time zone {profile.system.timezone}; "
            f"locale {profile.system.locale}; keymap {profile.system.keyboard}",
            f"users: {', '.join(users) or 'none'}; root {root_state}",
        )),
        PlanStep("bootloader", "Install the boot loader and build the initramfs", (
            f"firmware: {firmware_of(storage).describe()}",
            f"kernel command line: {cmdline(profile.bootloader)}",
            "initramfs by the target's own tool (dracut or update-initramfs) with "
            + " ".join(profile.bootloader.initramfs_drivers),
        )) if profile.bootloader.enabled else None,
        *(PlanStep(*step) for step in target_steps(profile, firmware_of(storage).uefi)),
        PlanStep("post-scripts", "Run post-install scripts", tuple(_script_names(scripts.post)))
        if scripts.post else None,
        PlanStep("finish", "Save logs and the profile to /var/log/azl-installer, unmount", ()),
    ]
    blockers = encryption_refusals(profile)
    firmware = firmware_of(storage)
    blockers += target_blockers(profile, firmware.uefi)
    if profile.bootloader.enabled and not firmware.bios_disks and not firmware.uefi:
        blockers.append("bootloader: the layout has neither a BIOS boot partition nor an EFI system partition "
                        "(/boot/efi); add one, or set bootloader.enabled: false")
    if kernel_filesystems is not None:
        blockers += [f"this kernel cannot mount {fs} (needed by the layout); install from the ISO "
                     "in a VM instead" for fs in missing_kernel_features(storage, kernel_filesystems)]
    return Plan(profile, storage, tuple(s for s in steps if s), tuple(destructive), tuple(untouched),
                tuple(blockers))


def _script_names(scripts: tuple[Any, ...]) -> list[str]:
    return [s.name or f"script {i + 1} ({s.interpreter})" for i, s in enumerate(scripts)]


def plan_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2)
