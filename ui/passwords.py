"""SHA-512 crypt ($6$), as glibc's crypt(3) and `openssl passwd -6` make it, in pure Python.

Python's crypt module is deprecated (removed in 3.13) and passlib is unmaintained; the
algorithm (Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512") is short and fully
specified, so the installer carries it and tests it against the specification's vectors.
The UI hashes a password the moment it is accepted and keeps only the hash.
"""

from __future__ import annotations

import hashlib
import secrets

_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DEFAULT_ROUNDS = 5000
# The byte order of the final digest in the encoded hash (from the specification).
_ORDER = (
    (0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4), (47, 5, 26), (6, 27, 48),
    (28, 49, 7), (50, 8, 29), (9, 30, 51), (31, 52, 10), (53, 11, 32), (12, 33, 54), (34, 55, 13),
    (56, 14, 35), (15, 36, 57), (37, 58, 16), (59, 17, 38), (18, 39, 60), (40, 61, 19), (62, 20, 41),
)


def _b64(b2: int, b1: int, b0: int, count: int) -> str:
    value = (b2 << 16) | (b1 << 8) | b0
    out = []
    for _ in range(count):
        out.append(_ALPHABET[value & 0x3F])
        value >>= 6
    return "".join(out)


def _repeat(digest: bytes, length: int) -> bytes:
    return (digest * (length // 64 + 1))[:length]


def sha512_crypt(password: str, salt: str, rounds: int | None = None) -> str:
    """The $6$ hash of password with the given salt (at most 16 characters are used)."""
    key = password.encode("utf-8")
    salt_bytes = salt.encode("ascii")[:16]
    n = _DEFAULT_ROUNDS if rounds is None else min(max(rounds, 1000), 999_999_999)

    alt = hashlib.sha512(key + salt_bytes + key).digest()
    a = hashlib.sha512(key + salt_bytes + _repeat(alt, len(key)))
    length = len(key)
    while length:
        a.update(alt if length & 1 else key)
        length >>= 1
    digest_a = a.digest()

    p_bytes = _repeat(hashlib.sha512(key * len(key)).digest(), len(key))
    s_bytes = _repeat(hashlib.sha512(salt_bytes * (16 + digest_a[0])).digest(), len(salt_bytes))

    c = digest_a
    for i in range(n):
        h = hashlib.sha512(p_bytes if i & 1 else c)
        if i % 3:
            h.update(s_bytes)
        if i % 7:
            h.update(p_bytes)
        h.update(c if i & 1 else p_bytes)
        c = h.digest()

    encoded = "".join(_b64(c[x], c[y], c[z], 4) for x, y, z in _ORDER) + _b64(0, 0, c[63], 2)
    prefix = "$6$" if rounds is None else f"$6$rounds={n}$"
    return f"{prefix}{salt_bytes.decode('ascii')}${encoded}"


def new_salt(length: int = 16) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def hash_password(password: str) -> str:
    """A fresh $6$ hash with a random 16-character salt."""
    return sha512_crypt(password, new_salt())
