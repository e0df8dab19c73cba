"""A minimal GRUB EFI image as grub-mkimage lays it out: a PE header with one section, "mods", holding
the module-info header and a prefix module (and a config module when asked)."""

from __future__ import annotations

import struct


def fake_grub_efi(prefix: str | None, config: str | None = None) -> bytes:
    modules = b""
    for kind, text in ((2, config), (3, prefix)):
        if text is not None:
            body = text.encode() + b"\0"
            body += b"\0" * (-len(body) % 8)
            modules += struct.pack("<II", kind, 8 + len(body)) + body
    mods = struct.pack("<IIQQ", 0x676D696D, 0, 24, 24 + len(modules)) + modules
    pe_at, optional = 0x40, 0xF0
    table = pe_at + 24 + optional
    raw = table + 40
    header = bytearray(raw)
    header[:2] = b"MZ"
    struct.pack_into("<I", header, 0x3C, pe_at)
    header[pe_at:pe_at + 4] = b"PE\0\0"
    struct.pack_into("<H", header, pe_at + 6, 1)
    struct.pack_into("<H", header, pe_at + 20, optional)
    struct.pack_into("<8sIIII", header, table, b"mods", len(mods), 0x1000, len(mods), raw)
    return bytes(header) + mods
