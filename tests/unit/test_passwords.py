"""Password hashes from the system's libxcrypt: known vectors, fresh salts, crypt() again to verify."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from installer.core.passwords import CryptError, crypt, hash_password, new_setting, verify

# Ulrich Drepper's specification of SHA-crypt, and libxcrypt's own known-answer table (test/crypt-kat.inc).
VECTORS = [
    ("Hello world!", "$6$saltstring",
     "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"),
    ("Hello world!", "$6$rounds=10000$saltstringsaltstring",
     "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/"
     "YTBmSK6H9qs/y3RnOaw5v."),
    ("THE YEAR", "$y$j75$LdJMENpBABJJ3hIHjB1Bi.",
     "$y$j75$LdJMENpBABJJ3hIHjB1Bi.$s0qvYYdO0C7xT6wRA3w1OvwQN1QFKFzQOjgDrNuprK6"),
    ("THE YEAR", "$y$j85$LdJMENpBABJJ3hIHjB1Bi.",
     "$y$j85$LdJMENpBABJJ3hIHjB1Bi.$9bzSqsy.tgf3vABDP.Wuq0kUG2dQzR03IMMoqvle5I0"),
    ("Hello world!", "$2b$04$abcdefghijklmnopqrstuu", "$2b$04$abcdefghijklmnopqrstuuyeG8laUfZvsCmc.AE6qIDYSPGM2efmK"),
]


@pytest.mark.parametrize(("password", "setting", "expected"), VECTORS)
def test_known_vectors(password: str, setting: str, expected: str) -> None:
    assert crypt(password, setting) == expected
    assert crypt(password, expected) == expected  # a whole hash as the setting reuses its salt


def test_the_sample_profiles_hash() -> None:
    sample = "$6$demosalt$pep2rFsAdnlyXj4mGOrrHEf7MdBKXMRAgvW.g3Skgxqkr1JllvY8JE7HzasHlLRWwL9avcCI43qk/JcTuErnA/"
    assert verify("azureuser", sample) and not verify("azureuser2", sample)


def test_yescrypt_by_default_with_fresh_salts_and_crypt_verifies_it() -> None:
    first, second = hash_password("secret123"), hash_password("secret123")
    assert first.startswith("$y$j9T$") and first != second  # libxcrypt's default cost, as passwd uses
    assert crypt("secret123", first) == first and verify("secret123", second)
    assert not verify("secret124", first)
    sha = hash_password("pässwörd", "sha512")
    assert sha.startswith("$6$") and len(sha.split("$")[2]) == 16 and verify("pässwörd", sha)


def test_settings_and_refusals() -> None:
    assert new_setting().startswith("$y$j9T$") and new_setting("sha512").startswith("$6$")
    with pytest.raises(CryptError, match=r"setting '\$zz\$"):
        crypt("secret", "$zz$salt")
    assert not verify("secret", "!locked")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl")
def test_matches_openssl_for_long_and_non_ascii_passwords() -> None:
    for password in ("pässwörd", "x" * 100, "a b\tc"):
        expected = subprocess.run(["openssl", "passwd", "-6", "-salt", "abcdefgh", "-stdin"], input=password,
                                  capture_output=True, text=True, check=True).stdout.strip()
        assert crypt(password, "$6$abcdefgh") == expected


def test_hashing_uses_yescrypts_default_cost() -> None:
    """The UI hashes on the event loop: at libxcrypt's default cost ("j9T", about 0.1 s; `make bench`
    times it against its goal of a second), never a higher one."""
    assert hash_password("secret123").split("$")[2] == "j9T"
