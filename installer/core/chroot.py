"""The one way a command runs inside the target: chroot into its root.

Every in-target command (grub2-install, dracut, systemctl, a post-install script) is built here,
so the recorded commands of a test, the log and a user pasting a line into a shell all see the
same form. The target's API filesystems (/proc, /sys, /dev) are mounted by the mount step before
any such command runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from installer.core.runner import Arg


def in_target(root: Path, argv: Sequence[Arg]) -> list[Arg]:
    """argv as run inside the target mounted at root."""
    return ["chroot", root, *argv]
