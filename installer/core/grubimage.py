"""Where a GRUB EFI image looks for its grub.cfg: the prefix grub-mkimage embedded in it.

A signed GRUB cannot be rebuilt, so its prefix is fixed by whoever signed it: Fedora's and Azure
Linux's grub2-efi-x64 look in their vendor directory (/EFI/fedora, /EFI/azurelinux), Debian's signed
GRUB in /EFI/debian, whatever directory the binary was copied to. The installer and the ISO builder
read the prefix from the image instead of assuming it, and put the small grub.cfg that hands over to
the real menu where that GRUB will look.

The layout read here is grub-mkimage's: a PE section named "mods" that starts with a module-info
header (magic "mimg", the offset and size of the module list), then modules, each a type and a size;
type 3 holds the prefix as a NUL-terminated string ("(memdisk)/boot/grub" names a device, "/EFI/x"
means the device GRUB was loaded from).
"""

from __future__ import annotations

import struct
from pathlib import Path

_MODULE_INFO_MAGIC = 0x676D696D  # "mimg", little-endian
_PREFIX = 3  # OBJ_TYPE_PREFIX in GRUB's kernel.h (ELF 0, memdisk 1, config 2, prefix 3)


def _mods_section(image: bytes) -> bytes | None:
    if image[:2] != b"MZ" or len(image) < 0x40:
        return None
    pe = struct.unpack_from("<I", image, 0x3C)[0]
    if image[pe:pe + 4] != b"PE\0\0":
        return None
    sections, optional = struct.unpack_from("<H", image, pe + 6)[0], struct.unpack_from("<H", image, pe + 20)[0]
    table = pe + 24 + optional
    for k in range(sections):
        name, _vsize, _vaddr, raw_size, raw_ptr = struct.unpack_from("<8sIIII", image, table + 40 * k)
        if name.rstrip(b"\0") == b"mods":
            return image[raw_ptr:raw_ptr + raw_size]
    return None


def embedded_prefix(image: bytes) -> str | None:
    """The prefix embedded in a GRUB EFI image, or None when the bytes are not one (or carry none)."""
    try:
        mods = _mods_section(image)
        if mods is None:
            return None
        magic, _pad, offset, size = struct.unpack_from("<IIQQ", mods, 0)
        if magic != _MODULE_INFO_MAGIC:
            return None
        at, end = offset, min(size, len(mods))
        while at + 8 <= end:
            kind, length = struct.unpack_from("<II", mods, at)
            if length < 8 or at + length > end:
                return None  # a cut-off or corrupt module list
            if kind == _PREFIX:
                return mods[at + 8:at + length].split(b"\0", 1)[0].decode("utf-8", "replace") or None
            at += length
    except struct.error:
        return None
    return None


def config_dir(image: bytes) -> str | None:
    """The directory on the device GRUB was loaded from where this image reads grub.cfg ("/EFI/debian"),
    or None when its prefix names another device (a memdisk) or the bytes are not a GRUB image."""
    prefix = embedded_prefix(image)
    if prefix is None or not prefix.startswith("/") or ".." in prefix.split("/"):
        return None
    return prefix.rstrip("/") or None


def esp_config_dir(image: Path) -> str | None:
    """config_dir of a GRUB image file; None when it cannot be read."""
    try:
        return config_dir(image.read_bytes())
    except OSError:
        return None
