"""The payload step masks kernel-install's dracut plugin while dnf runs (installer/steps/payload.py): the
initramfs is built once, by the boot loader step, not also by the kernel's scriptlet."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from installer.core.runner import RecordingRunner, Reply
from installer.payload import PayloadError
from installer.steps.bootloader import bls_entries_given_an_initrd
from installer.steps.payload import DRACUT_PLUGIN_MASK, PayloadStep
from profiles import profile_from_text
from tests.support.steps import step_context

PROFILE = """\
storage: {disks: [{path: /dev/vda}], auto: {filesystem: ext4, boot: bios}}
payload:
  repositories: [{name: sample, baseurl: "file:///srv/sample", gpgcheck: false}]
  packages: [kernel]
"""


def _run(tmp_path: Path, profile_text: str, returncode: int = 0) -> tuple[Path, list[str | None]]:
    """Runs the step; returns the root and what the mask was (its link target, or None) while dnf ran."""
    root = tmp_path / "root"
    root.mkdir()
    seen: list[str | None] = []

    def dnf(argv: tuple[str, ...]) -> None:
        mask = root / DRACUT_PLUGIN_MASK.lstrip("/")
        seen.append(os.readlink(mask) if mask.is_symlink() else None)

    runner = RecordingRunner()
    runner.reply(["dnf5", "--version"], Reply(127, "dnf5: command not found"))
    runner.reply(["dnf", "-y"], Reply(returncode, "Error: something broke\n" if returncode else "Complete!\n",
                                      effect=dnf))
    PayloadStep().run(step_context(profile_from_text(profile_text), root, runner=runner))
    return root, seen


def test_the_dracut_plugin_is_masked_while_dnf_runs_and_only_then(tmp_path: Path) -> None:
    root, seen = _run(tmp_path, PROFILE)
    assert seen == ["/dev/null"]
    assert not (root / "etc").exists()  # made for the mask, and gone with it


def test_the_mask_goes_when_dnf_fails_too(tmp_path: Path) -> None:
    with pytest.raises(PayloadError):
        _run(tmp_path, PROFILE, returncode=1)
    assert not (tmp_path / "root/etc/kernel").exists()


def test_a_target_without_the_boot_loader_step_keeps_the_kernels_own_initramfs(tmp_path: Path) -> None:
    _, seen = _run(tmp_path, PROFILE + "bootloader: {enabled: false}\n")
    assert seen == [None]


def test_a_mask_the_target_has_is_left_alone(tmp_path: Path) -> None:
    mask = tmp_path / "root" / DRACUT_PLUGIN_MASK.lstrip("/")
    mask.parent.mkdir(parents=True)
    mask.write_text("#!/bin/sh\nexit 0\n")  # an administrator's own plugin of that name
    root = tmp_path / "root"
    runner = RecordingRunner()
    runner.reply(["dnf5", "--version"], Reply(127, "dnf5: command not found"))
    PayloadStep().run(step_context(profile_from_text(PROFILE), root, runner=runner))
    assert mask.read_text() == "#!/bin/sh\nexit 0\n"


def test_a_bls_entry_written_while_the_plugin_was_masked_gets_its_initrd(tmp_path: Path) -> None:

    entries = tmp_path / "boot/loader/entries"
    entries.mkdir(parents=True)
    (tmp_path / "boot/initramfs-6.18.1-1.azl4.x86_64.img").write_bytes(b"x")
    bare = entries / "abc-6.18.1-1.azl4.x86_64.conf"
    bare.write_text("title Azure Linux\nversion 6.18.1-1.azl4.x86_64\nlinux /vmlinuz-6.18.1-1.azl4.x86_64\n"
                    "options root=UUID=1 ro\n")
    whole = entries / "abc-6.17.0-1.azl4.x86_64.conf"
    whole.write_text("linux /vmlinuz-6.17.0-1.azl4.x86_64\ninitrd /initramfs-6.17.0-1.azl4.x86_64.img\n")
    changed = bls_entries_given_an_initrd(tmp_path, ["6.18.1-1.azl4.x86_64", "6.17.0-1.azl4.x86_64"])
    assert changed == ["/boot/loader/entries/abc-6.18.1-1.azl4.x86_64.conf"]
    assert bare.read_text().splitlines()[2:4] == ["linux /vmlinuz-6.18.1-1.azl4.x86_64",
                                                 "initrd /initramfs-6.18.1-1.azl4.x86_64.img"]
    assert whole.read_text().count("initrd") == 1
    assert bls_entries_given_an_initrd(tmp_path, ["6.18.1-1.azl4.x86_64"]) == []  # once is enough
