"""The ISO's GRUB menu (/boot/grub/grub.cfg), as text from a pure function.

GRUB talks on the serial port and the screen at once, so a VM with only a serial console
(the tests, `azl-installer vm`, Azure's serial console) sees and can drive the menu.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

KERNEL = "/live/vmlinuz"
INITRD = "/live/initrd.img"
# boot=live: live-boot finds /live/filesystem.squashfs on any block device (CD or disk).
# The last console= is /dev/console for programs; the launcher writes to all of them.
KERNEL_ARGS: tuple[str, ...] = ("boot=live", "console=tty1", "console=ttyS0,115200n8")
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

    def cmdline(self) -> str:
        return " ".join((*KERNEL_ARGS, *self.extra_args))


def menu_entries(unattended_profiles: Sequence[str]) -> list[MenuEntry]:
    """The interactive entry first (the default), then one unattended entry per profile name."""
    # quiet: the installer draws a full screen on the consoles; kernel messages would tear it.
    entries = [MenuEntry("Install Azure Linux", "install", INTERACTIVE_ARGS)]
    entries += [MenuEntry(f"unattended: {name} profile", f"unattended-{name}",
                          (f"inst.profile=/profiles/{name}.yaml",)) for name in unattended_profiles]
    return [*entries, PROFILE_DISK_ENTRY, KICKSTART_DISK_ENTRY]


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
          if PROFILE_DISK_ENTRY in entries else []),
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
