"""Password hashes made by the system's libxcrypt, the crypt(3) that passwd, chpasswd and PAM use.

Azure Linux (as Fedora) hashes with yescrypt ($y$) by default; SHA-512 crypt ($6$) stays
accepted because older profiles and tools (openssl passwd -6) produce it. The library is
called through ctypes, with the reentrant calls that take their own work area
(crypt_gensalt_rn, crypt_rn), so nothing is shared between threads and the work area, which
holds a copy of the passphrase, is zeroed after every call. Python's crypt module is gone
in 3.13; libcrypt.so.1 (libxcrypt, Debian's libcrypt1, Fedora's libxcrypt) is on every
system that has shadow-utils.

Salts come from libxcrypt itself (it reads the kernel's random source when given no bytes),
and the cost is the library's default, which is also what passwd uses with an unset
YESCRYPT_COST_FACTOR / SHA_CRYPT_*_ROUNDS in login.defs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hmac
from functools import lru_cache
from typing import Literal

Method = Literal["yescrypt", "sha512"]
PREFIXES: dict[Method, str] = {"yescrypt": "$y$", "sha512": "$6$"}
DEFAULT_METHOD: Method = "yescrypt"

_LIBRARY = "libcrypt.so.1"  # the soname of libxcrypt's stable API (glibc's own libcrypt had it too)
_OUTPUT_SIZE = 384  # CRYPT_GENSALT_OUTPUT_SIZE and CRYPT_OUTPUT_SIZE in <crypt.h>
_DATA_SIZE = 32768  # sizeof(struct crypt_data) in libxcrypt


class CryptError(RuntimeError):
    """libxcrypt is missing, or refused a setting (an unknown or disabled hash method)."""


@lru_cache(maxsize=1)
def _libcrypt() -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("crypt") or _LIBRARY, use_errno=True)
    except OSError as err:
        raise CryptError(f"cannot load {_LIBRARY} (libxcrypt): {err}") from None
    if not hasattr(lib, "crypt_gensalt_rn") or not hasattr(lib, "crypt_rn"):
        raise CryptError(f"{_LIBRARY} is not libxcrypt (no crypt_gensalt_rn/crypt_rn)")
    lib.crypt_gensalt_rn.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int,
                                     ctypes.c_char_p, ctypes.c_int]
    lib.crypt_gensalt_rn.restype = ctypes.c_char_p
    lib.crypt_rn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]
    lib.crypt_rn.restype = ctypes.c_char_p
    return lib


def new_setting(method: Method = DEFAULT_METHOD, cost: int = 0) -> str:
    """A fresh setting (prefix, cost and random salt) such as '$y$j9T$...'; cost 0 is libxcrypt's default."""
    lib = _libcrypt()
    out = ctypes.create_string_buffer(_OUTPUT_SIZE)
    # No random bytes given (NULL, 0): libxcrypt takes them from getentropy() itself.
    result = lib.crypt_gensalt_rn(PREFIXES[method].encode(), cost, None, 0, out, _OUTPUT_SIZE)
    if not result:
        raise CryptError(f"libxcrypt cannot make a {method} salt (errno {ctypes.get_errno()})")
    return str(result.decode("ascii"))


def crypt(password: str, setting: str) -> str:
    """crypt(3) of password with setting (a bare setting or a whole hash, whose salt is reused)."""
    lib = _libcrypt()
    data = ctypes.create_string_buffer(_DATA_SIZE)  # zero-filled, as crypt_rn wants it the first time
    try:
        result = lib.crypt_rn(password.encode("utf-8"), setting.encode("ascii", "replace"), data, _DATA_SIZE)
        if not result:
            # The setting's method is unknown or disabled in this build: say which, never the password.
            raise CryptError(f"libxcrypt cannot hash with the setting '{setting[:4]}...' (errno {ctypes.get_errno()})")
        return str(result.decode("ascii"))
    finally:
        ctypes.memset(data, 0, _DATA_SIZE)  # the work area held a copy of the password


def hash_password(password: str, method: Method = DEFAULT_METHOD) -> str:
    """A new hash of password with a random salt, as passwd would write it into /etc/shadow."""
    return crypt(password, new_setting(method))


def verify(password: str, hashed: str) -> bool:
    """Does password match hashed? (Constant-time comparison of the two hashes.)"""
    try:
        return hmac.compare_digest(crypt(password, hashed), hashed)
    except CryptError:
        return False
