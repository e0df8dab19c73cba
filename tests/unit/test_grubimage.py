"""The prefix a GRUB EFI image was built with, read from its "mods" section."""

from __future__ import annotations

from pathlib import Path

from installer.core.grubimage import embedded_prefix, esp_config_dir
from tests.support.grubimage import fake_grub_efi


def test_the_prefix_is_read_after_other_modules() -> None:
    image = fake_grub_efi("/EFI/debian", config="normal (memdisk)/grub.cfg\n")
    assert embedded_prefix(image) == "/EFI/debian"


def test_not_a_grub_image_has_no_prefix() -> None:
    assert embedded_prefix(b"") is None
    assert embedded_prefix(b"MZ" + b"\0" * 200) is None
    assert embedded_prefix(fake_grub_efi(None)) is None
    truncated = fake_grub_efi("/EFI/azurelinux")[:-12]
    assert embedded_prefix(truncated) is None


def test_only_a_path_on_the_esp_is_a_config_dir(tmp_path: Path) -> None:
    cases = {"/EFI/azurelinux": "/EFI/azurelinux", "/EFI/debian/": "/EFI/debian", "(memdisk)/boot/grub": None,
             "/EFI/../..": None, "/": None}
    for prefix, wanted in cases.items():
        image = tmp_path / "grubx64.efi"
        image.write_bytes(fake_grub_efi(prefix))
        assert esp_config_dir(image) == wanted, prefix
    assert esp_config_dir(tmp_path / "missing.efi") is None
