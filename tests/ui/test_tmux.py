"""The real program in tmux with TERM=linux at 80x24: walk to Review on a disk image, check every glyph."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.tmux import ROOT, Tmux
from ui.glyphs import unsafe

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.fixture
def tmux(work: Path) -> Iterator[Tmux]:
    session = Tmux(f"azl-ui-{uuid.uuid4().hex[:8]}")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "linux", "HOME": str(work),
           "PYTHONPATH": str(ROOT)}
    command = (f"{sys.executable} -m ui --target-image {work / 'disk.img'} --image-size 8GiB "
               f"--log-dir {work / 'logs'}")
    subprocess.run(["tmux", "-L", session.name, "-f", "/dev/null", "new-session", "-d", "-s", "ui", "-x", "80",
                    "-y", "24", *[f"-e{k}={v}" for k, v in env.items()], f"cd {ROOT} && TERM=linux exec {command}"],
                   check=True, timeout=10, env={**env, "TMUX": ""})
    try:
        yield session
    finally:
        subprocess.run(["tmux", "-L", session.name, "kill-server"], check=False, capture_output=True, timeout=10)


def test_walk_to_review_on_the_linux_console(tmux: Tmux, work: Path) -> None:
    seen = [tmux.wait_for("ctrl+n Next")]
    colours = tmux.run("capture-pane", "-e", "-p", "-t", "ui")
    assert "[38;5;" not in colours and "[38;2;" not in colours  # TERM=linux: the 16 standard colours only
    tmux.wait_for("Found 1 disk.")
    tmux.keys("C-n")
    seen.append(tmux.wait_for("disk image file"))
    assert "/dev/" not in seen[-1]  # the machine's own disks are never offered in image mode
    tmux.keys("Space")  # the image becomes the target
    seen.append(tmux.wait_for(f"[E] {work}"))
    tmux.keys("Tab", "Right", "Right", "Tab", "Right")  # root filesystem btrfs, firmware bios
    seen.append(tmux.wait_for("(*) bios"))
    assert "(*) btrfs" in seen[-1]
    tmux.keys("C-n")
    seen.append(tmux.wait_for("step 3 of 6: Encryption"))
    tmux.keys("C-n")
    seen.append(tmux.wait_for("Azure server (azure-server)"))
    tmux.keys("Space")
    seen.append(tmux.wait_for("(*) Azure server"))
    tmux.keys("C-n")
    seen.append(tmux.wait_for("Host name"))
    tmux.wait_row_focused("Host name")
    tmux.keys("Tab", "Tab")  # host name -> user name -> password
    tmux.wait_row_focused("Password")
    tmux.literal("secret123")
    tmux.wait_for("Password         *********")
    tmux.keys("Tab")
    tmux.wait_field_focused("Password", "Again")
    tmux.literal("secret123")
    tmux.wait_for("  Again  *********")
    tmux.keys("C-n")
    review = tmux.wait_for("Install plan")
    seen.append(tmux.wait_for("Confirming ERASES") if "blocker" not in review else review)
    assert str(work / "disk.img") in seen[-1]
    for screen in seen:
        assert not unsafe(screen), f"glyphs the Linux console lacks: {unsafe(screen)}\n{screen}"
    assert not (work / "disk.img").exists()  # nothing was written before confirming
    tmux.keys("C-q")
    tmux.wait_for("Quit the installer?")


def test_lvm_root_in_the_layout_editor_on_the_linux_console(tmux: Tmux, work: Path) -> None:
    """The custom layout's / becomes a volume group's logical volume, typed as a user would, on TERM=linux."""
    tmux.wait_for("Found 1 disk.")
    tmux.keys("C-n")
    tmux.wait_for("disk image file")
    tmux.keys("Space")  # the image becomes the target
    tmux.wait_for(f"[E] {work}")
    tmux.keys("e")  # the editor opens (custom layout)
    seen = [tmux.wait_for("Disks: custom layout")]
    # Quick moves (key repeat) load each row into the form; none of it may be written into another row.
    tmux.keys("Down", "Down", "Up", "Down", "Up", "Down")  # ends on the / partition
    seen.append(tmux.wait_for("Mount point      /  "))
    time.sleep(1)  # anything still bouncing between the rows would show now
    rows = tmux.screen()
    assert "1 GiB       xfs      /boot  [boot]" in rows and "+rest xfs      /  [root]" in rows, rows
    tmux.keys(*["Tab"] * 7)  # Size, Fill the rest, Filesystem, Mount point, Label, Subvolumes, Use as
    tmux.wait_row_focused("Use as")
    tmux.keys("Right", "Right")  # LVM
    tmux.wait_for("(*) LVM")
    tmux.keys("Tab")  # its Name
    tmux.wait_field_focused("Use as", "Name")
    tmux.literal("sys")
    seen.append(tmux.wait_for("lvm      vg sys"))
    tmux.keys("BTab")  # back on Use as: a choice, where v is the screen's key
    tmux.wait_for("->/space Change")
    tmux.keys("v")
    seen.append(tmux.wait_for("sys/root"))
    assert "vg sys" in seen[-1] and "+rest xfs    /" in seen[-1]
    assert "! " not in seen[-1].split("Done")[-1]  # the engine accepts it
    for screen in seen:
        assert not unsafe(screen), f"glyphs the Linux console lacks: {unsafe(screen)}\n{screen}"
