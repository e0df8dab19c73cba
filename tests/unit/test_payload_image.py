"""Unpacking a root filesystem image: format guessing, errors and the exact commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from installer.core.events import Event, EventBus
from installer.core.runner import RecordingRunner, Reply
from installer.payload import PayloadError, install_payload
from installer.payload.image import guess_format, image_format, unpack_argv, unpack_image
from profiles.model import Payload, RootImage


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("rootfs.tar", "tar"),
        ("rootfs.tar.gz", "tar"),
        ("rootfs.tgz", "tar"),
        ("rootfs.tar.xz", "tar"),
        ("/run/install/azurelinux-rootfs.tar.zst", "tar"),
        ("ROOTFS.TAR.ZST", "tar"),
        ("rootfs.squashfs", "squashfs"),
        ("rootfs.sqfs", "squashfs"),
        ("rootfs.img", None),
        ("rootfs.zst", None),
        ("tar", None),
    ],
)
def test_guess_format(name: str, fmt: str | None) -> None:
    assert guess_format(name) == fmt


def test_explicit_format_wins_over_the_name() -> None:
    assert image_format(RootImage("/images/root.img", format="squashfs")) == "squashfs"
    assert image_format(RootImage("/images/root.squashfs", format="tar")) == "tar"


def test_unknown_format_says_how_to_fix_it() -> None:
    with pytest.raises(PayloadError, match=r"root image /images/root\.img .*set payload\.image\.format"):
        image_format(RootImage("/images/root.img"))


def test_tar_argv_keeps_owners_modes_xattrs_and_acls(tmp_path: Path) -> None:
    assert unpack_argv(RootImage("/i/rootfs.tar.zst"), tmp_path) == [
        "tar", "--xattrs", "--xattrs-include=*", "--acls", "--numeric-owner",
        "-xpf", "/i/rootfs.tar.zst", "-C", str(tmp_path),
    ]  # fmt: skip


def test_squashfs_argv(tmp_path: Path) -> None:
    assert unpack_argv(RootImage("/i/root.sqfs"), tmp_path) == [
        "unsquashfs", "-no-progress", "-f", "-d", str(tmp_path), "/i/root.sqfs",
    ]  # fmt: skip


def test_unpack_runs_one_command_with_progress_at_start_and_end(tmp_path: Path) -> None:
    image = tmp_path / "rootfs.squashfs"
    image.write_bytes(b"hsqs")
    seen: list[Event] = []
    runner = RecordingRunner()
    unpack_image(RootImage(str(image)), tmp_path / "root", runner, EventBus(seen.append))
    assert runner.calls == [("unsquashfs", "-no-progress", "-f", "-d", str(tmp_path / "root"), str(image))]
    assert [(e.fraction, e.message) for e in seen if e.kind == "step-progress"] == [
        (0.0, "unpacking root image rootfs.squashfs"),
        (1.0, "unpacked root image rootfs.squashfs"),
    ]


def test_missing_image_is_a_clear_error(tmp_path: Path) -> None:
    runner = RecordingRunner()
    with pytest.raises(PayloadError, match=r"^root image not found: .*/nope\.tar\.zst$"):
        unpack_image(RootImage(str(tmp_path / "nope.tar.zst")), tmp_path, runner, EventBus())
    assert runner.calls == []


def test_failed_unpack_becomes_payload_error(tmp_path: Path) -> None:
    image = tmp_path / "rootfs.tar.gz"
    image.write_bytes(b"not gzip")
    runner = RecordingRunner()
    runner.reply(["tar"], Reply(2, "gzip: stdin: not in gzip format\n"))
    with pytest.raises(PayloadError, match="(?s)unpacking root image .*not in gzip format"):
        unpack_image(RootImage(str(image)), tmp_path, runner, EventBus())


def test_image_only_payload_runs_no_dnf(tmp_path: Path) -> None:
    image = tmp_path / "rootfs.tar"
    image.write_bytes(b"")
    runner = RecordingRunner()
    install_payload(Payload(image=RootImage(str(image))), tmp_path, runner, EventBus(), tmp_path / "work")
    assert [c[0] for c in runner.calls] == ["tar"]
