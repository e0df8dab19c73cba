"""GRUB's superuser password as grub2-mkpasswd-pbkdf2 writes it: grub.pbkdf2.sha512.ITERATIONS.SALT.HASH.

GRUB checks a typed password with PBKDF2-HMAC-SHA512 over these hexadecimal salt and hash; a
kickstart's `bootloader --password` (without --iscrypted) is hashed here, at once, the way the tool
does it (64-byte salt and hash, 10000 iterations), so no converted profile holds the password.
"""

from __future__ import annotations

import hashlib
import re
import secrets

GRUB_HASH = re.compile(r"^grub\.pbkdf2\.sha512\.([1-9][0-9]{0,6})\.([0-9A-Fa-f]{2,1024})\.([0-9A-Fa-f]{2,1024})$")
ITERATIONS = 10000  # grub2-mkpasswd-pbkdf2's default
SALT_BYTES = HASH_BYTES = 64


def grub_pbkdf2(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, HASH_BYTES)
    return f"grub.pbkdf2.sha512.{iterations}.{salt.hex().upper()}.{digest.hex().upper()}"


def is_grub_hash(text: str) -> bool:
    match = GRUB_HASH.match(text)
    return match is not None and len(match[2]) % 2 == 0 and len(match[3]) % 2 == 0
