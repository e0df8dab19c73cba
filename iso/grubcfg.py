"""The ISO's GRUB menu (/boot/grub/grub.cfg), as text from a pure function.

GRUB talks on the serial port and the screen at once, so a VM with only a serial console
(the tests, `azl-installer vm`, Azure's serial console) sees and can drive the menu.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

KERNEL = "/live/vmlinuz"
INITRD = "/live/initrd.img"
# The last console= is /dev/console for programs; the launcher writes to all of them.
CONSOLES: tuple[str, ...] = ("console=tty1", "console=ttyS0,115200n8")
# The Debian-built ISO: live-boot (boot=live) finds /live/filesystem.squashfs on any block device (CD or disk).
KERNEL_ARGS: tuple[str, ...] = ("boot=live", *CONSOLES)


def dracut_live_args(label: str) -> tuple[str, ...]:
    """The RPM-built ISO: dracut's dmsquash-live finds the medium by its volume label (as a CD or as a disk),
    mounts /live/filesystem.squashfs from it (the same place as on the Debian-built ISO) and puts a writable
    overlayfs over it. rd.live.image is also what the live system's generator recognizes."""
    return (f"root=live:CDLABEL={label}", "rd.live.image", "rd.live.dir=live", "rd.live.squashimg=filesystem.squashfs",
            "rd.live.overlay.overlayfs=1", *CONSOLES)

INTERACTIVE_ARGS: tuple[str, ...] = ("quiet",)
SERIAL_COMMAND = "serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1"
DEFAULT_TIMEOUT = 3
# A profile on a disk of its own: a file system labelled AZLPROFILE holding profile.yaml (as Anaconda
# takes a kickstart from a volume labelled OEMDRV). When GRUB sees such a disk, that entry becomes the
# default: how `azl-installer vm --secure-boot` installs unattended through the signed boot chain, and
# how an operator can, without editing the boot menu.
PROFILE_LABEL = "AZLPROFILE"
PROFILE_DISK_ID = "profile-disk"
KICKSTART_DISK_ID = "kickstart-disk"  # the same disk holding ks.cfg instead: that entry wins


@dataclass(frozen=True)
class MenuEntry:
    title: str
    entry_id: str
    extra_args: tuple[str, ...] = ()
    base_args: tuple[str, ...] = KERNEL_ARGS  # how this ISO's initramfs finds its live root

    def cmdline(self) -> str:
        return " ".join((*self.base_args, *self.extra_args))


def menu_entries(unattended_profiles: Sequence[str], base_args: tuple[str, ...] = KERNEL_ARGS) -> list[MenuEntry]:
    """The interactive entry first (the default), then one unattended entry per profile name."""
    # quiet: the installer draws a full screen on the consoles; kernel messages would tear it.
    entries = [MenuEntry("Install Azure Linux", "install", INTERACTIVE_ARGS)]
    entries += [MenuEntry(f"unattended: {name} profile", f"unattended-{name}",
                          (f"inst.profile=/profiles/{name}.yaml",)) for name in unattended_profiles]
    entries += [PROFILE_DISK_ENTRY, KICKSTART_DISK_ENTRY]
    return [replace(entry, base_args=base_args) for entry in entries]


PROFILE_DISK_ENTRY = MenuEntry(f"unattended: profile.yaml on the disk labelled {PROFILE_LABEL}", PROFILE_DISK_ID,
                               (f"inst.profile=hd:LABEL={PROFILE_LABEL}:/profile.yaml",))
KICKSTART_DISK_ENTRY = MenuEntry(f"unattended: ks.cfg on the disk labelled {PROFILE_LABEL}", KICKSTART_DISK_ID,
                                 (f"inst.ks=hd:LABEL={PROFILE_LABEL}:/ks.cfg",))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def grub_cfg(entries: Sequence[MenuEntry], *, timeout: int = DEFAULT_TIMEOUT) -> str:
    lines = [
        "# The azl-installer ISO's boot menu (written by iso/grubcfg.py).",
        SERIAL_COMMAND,
        "terminal_input serial console",
        "terminal_output serial console",
        # UEFI: without a video driver loaded, Linux starts with no usable screen on tty1.
        'if [ "$grub_platform" = efi ]; then insmod all_video; fi',
        f"set default={entries[0].entry_id if entries else 0}",
        *([f"if search --no-floppy --label --set=azlprofile {PROFILE_LABEL}; then set default={PROFILE_DISK_ID}; "
           f'if [ -f "($azlprofile)/ks.cfg" ]; then set default={KICKSTART_DISK_ID}; fi; fi']
          if any(entry.entry_id == PROFILE_DISK_ID for entry in entries) else []),
        f"set timeout={timeout}",
        "",
    ]
    for entry in entries:
        lines += [
            f"menuentry {_quote(entry.title)} --id {entry.entry_id} {{",
            f"    linux {KERNEL} {entry.cmdline()}",
            f"    initrd {INITRD}",
            "}",
        ]
    return "\n".join(lines) + "\n"


def entry_cmdline(cfg: str, entry_id: str) -> str | None:
    """The kernel arguments of the entry with this id in a grub.cfg grub_cfg wrote (what `azl-installer vm`
    boots directly, so that a Debian-built and an RPM-built ISO each get their own); None if it has none."""
    lines = cfg.splitlines()
    for at, line in enumerate(lines):
        if line.startswith("menuentry ") and f" --id {entry_id} " in line:
            for body in lines[at + 1:]:
                if body.strip() == "}":
                    break
                words = body.split(maxsplit=2)
                if words[:1] == ["linux"]:
                    return words[2] if len(words) > 2 else ""
    return None
