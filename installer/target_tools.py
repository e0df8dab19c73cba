"""What the installed system brings, found by looking into the target root after the payload.

The boot loader and unlock steps run the target's own tools, so they first find out which family
it has: grub2-* with dracut (Azure Linux, Fedora) or grub-* with initramfs-tools (Debian, used by the
test images here), which kernels it holds, and where the payload put a signed shim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from installer.core.chroot import in_target
from installer.core.runner import Runner


class TargetError(RuntimeError):
    """The target lacks something a step needs; one line naming what to add to the payload."""


@dataclass(frozen=True)
class TargetTools:
    """What the installed system brings: tool names and where its GRUB files live."""

    grub: str  # "grub2" (Fedora family) or "grub" (Debian family)
    initramfs: str  # "dracut" or "initramfs-tools"
    kernels: tuple[str, ...]  # kernel versions with modules in the target
    shim: Path | None  # directory under /boot/efi/EFI holding signed shim + grub, if shipped

    @property
    def grub_cfg(self) -> str:
        return f"/boot/{self.grub}/grub.cfg"


def has_program(root: Path, *names: str) -> bool:
    """Whether the target has one of these programs where a package puts them."""
    return any((root / d / n).exists() for d in ("usr/sbin", "usr/bin", "sbin", "bin") for n in names)


def initramfs_tool(root: Path) -> str | None:
    """'dracut' (Azure Linux, Fedora), 'initramfs-tools' (Debian) or None."""
    if has_program(root, "dracut"):
        return "dracut"
    if has_program(root, "update-initramfs"):
        return "initramfs-tools"
    return None


def detect_tools(root: Path) -> TargetTools:
    if has_program(root, "grub2-install", "grub2-mkconfig"):
        grub = "grub2"
    elif has_program(root, "grub-install", "grub-mkconfig"):
        grub = "grub"
    else:
        raise TargetError("the target has no GRUB (grub2-install or grub-install): add the grub2 packages "
                              "to the payload, or set bootloader.enabled: false")
    initramfs = initramfs_tool(root)
    if initramfs is None:
        raise TargetError("the target has no initramfs tool (dracut or update-initramfs): add dracut")
    modules = next((root / d for d in ("usr/lib/modules", "lib/modules") if (root / d).is_dir()), None)
    kernels = tuple(sorted(p.name for p in modules.iterdir() if p.is_dir())) if modules else ()
    if not kernels:
        raise TargetError("the payload installed no kernel (no /lib/modules/*): add the kernel package, "
                              "or set bootloader.enabled: false")
    efi = root / "boot/efi/EFI"
    shim = next((d for d in sorted(efi.iterdir()) if (d / "shimx64.efi").exists()), None) if efi.is_dir() else None
    return TargetTools(grub, initramfs, kernels, shim)


_UNIT_DIRS = ("usr/lib/systemd/system", "lib/systemd/system", "etc/systemd/system")


def installed_units(root: Path, names: Sequence[str]) -> list[str]:
    """Those of the unit names the payload installed."""
    return [n for n in names if any((root / d / n).exists() for d in _UNIT_DIRS)]


def enable_units(root: Path, units: Sequence[str], runner: Runner) -> None:
    """Enable units with the target's own systemctl (works offline in a chroot)."""
    runner.run(in_target(root, ["systemctl", "enable", *units]))
