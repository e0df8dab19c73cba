"""The ISO's UEFI boot image: shim and the signed GRUB on a FAT image, with the hand-over grub.cfg
where that GRUB reads it. Needs mkfs.vfat and mtools (scripts/setup-host.sh), not root."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from iso import efiboot
from iso.chroot import BuildError
from tests.support.grubimage import fake_grub_efi
from tests.support.images import cpio_newc

pytestmark = pytest.mark.skipif(shutil.which("mkfs.vfat") is None or shutil.which("mtype") is None,
                                reason="needs dosfstools and mtools")


def test_cpio_members_are_the_regular_files() -> None:
    archive = cpio_newc({"./boot/efi/EFI/azurelinux/shimx64.efi": b"shim!", "./usr/lib/x": b"12345678"},
                        dirs=["./boot/efi/EFI"])
    assert efiboot._cpio_members(archive) == {"./boot/efi/EFI/azurelinux/shimx64.efi": b"shim!",
                                              "./usr/lib/x": b"12345678"}


def test_the_volume_date_is_grubs_uuid_of_the_iso() -> None:
    assert efiboot.volume_stamp_uuid("2026120114264800") == "2026-12-01-14-26-48-00"
    assert "--fs-uuid --set=root 2026-12-01-14-26-48-00" in efiboot.handover_cfg("2026120114264800")
    with pytest.raises(ValueError, match="16 digits"):
        efiboot.volume_stamp_uuid("2026-12-01")


def _read(image: Path, name: str) -> bytes:
    return subprocess.run(["mtype", "-i", str(image), f"::/{name}"], check=True, capture_output=True).stdout


def test_the_efi_image_boots_shim_and_gives_grub_its_config_where_it_looks(tmp_path: Path) -> None:
    boot = efiboot.SignedBoot(shim=b"shim" * 1000, grub=fake_grub_efi("/EFI/debian"), mokmanager=b"mm")
    image = efiboot.efi_image(boot, tmp_path / "efi.img", "2026120114264800")
    assert _read(image, "EFI/BOOT/BOOTX64.EFI") == boot.shim
    assert _read(image, "EFI/BOOT/grubx64.efi") == boot.grub
    assert _read(image, "EFI/BOOT/mmx64.efi") == b"mm"
    handover = efiboot.handover_cfg("2026120114264800").encode()
    assert _read(image, "EFI/BOOT/grub.cfg") == handover
    assert _read(image, "EFI/debian/grub.cfg") == handover
    assert sorted(p.name for p in tmp_path.iterdir()) == ["efi.img"]  # no scratch files left beside it
    # Booted as a CD, GRUB looks on the ISO's own file system: the same files in the tree.
    efiboot.handover_in_tree(boot, tmp_path / "tree", "2026120114264800")
    found = sorted(str(p.relative_to(tmp_path / "tree")) for p in (tmp_path / "tree").rglob("*.cfg"))
    assert found == ["EFI/BOOT/grub.cfg", "EFI/debian/grub.cfg"]
    assert (tmp_path / "tree/EFI/debian/grub.cfg").read_bytes() == handover


def test_a_grub_reading_its_own_directory_gets_one_config(tmp_path: Path) -> None:
    boot = efiboot.SignedBoot(shim=b"s", grub=fake_grub_efi("/EFI/BOOT"), mokmanager=None)
    image = efiboot.efi_image(boot, tmp_path / "efi.img", "2026120114264800")
    listing = subprocess.run(["mdir", "-b", "-i", str(image), "::/EFI"], check=True, capture_output=True,
                             text=True).stdout.split()
    assert listing == ["::/EFI/BOOT/"]
    with pytest.raises(subprocess.CalledProcessError):
        _read(image, "EFI/BOOT/mmx64.efi")


def test_a_repository_without_the_signed_chain_is_named_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "Packages").mkdir()
    (tmp_path / "Packages/grub2-efi-x64-modules-2.12-1.azl4.x86_64.rpm").write_bytes(b"not the signed GRUB")
    (tmp_path / "Packages/shim-x64-16.1-1.azl4.x86_64.rpm").write_bytes(b"")
    with pytest.raises(BuildError, match=r"has no grub2-efi-x64 package: the ISO's Secure Boot chain"):
        efiboot._package(tmp_path, efiboot.GRUB_PACKAGE)
    assert efiboot._package(tmp_path, efiboot.SHIM_PACKAGE).name == "shim-x64-16.1-1.azl4.x86_64.rpm"
