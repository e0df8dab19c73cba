"""SHA-512 crypt against the specification's vectors and `openssl passwd -6`."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ui.passwords import hash_password, sha512_crypt


def test_specification_vectors() -> None:
    assert sha512_crypt("Hello world!", "saltstring") == (
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1")
    assert sha512_crypt("Hello world!", "saltstringsaltstring", rounds=10000) == (
        "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/"
        "YTBmSK6H9qs/y3RnOaw5v.")


def test_the_sample_profiles_hash() -> None:
    assert sha512_crypt("azureuser", "demosalt") == (
        "$6$demosalt$pep2rFsAdnlyXj4mGOrrHEf7MdBKXMRAgvW.g3Skgxqkr1JllvY8JE7HzasHlLRWwL9avcCI43qk/JcTuErnA/")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl")
def test_matches_openssl_for_long_and_non_ascii_passwords() -> None:
    for password in ("pässwörd", "x" * 100, "a b\tc"):
        expected = subprocess.run(["openssl", "passwd", "-6", "-salt", "abcdefgh", "-stdin"], input=password,
                                  capture_output=True, text=True, check=True).stdout.strip()
        assert sha512_crypt(password, "abcdefgh") == expected


def test_fresh_salts() -> None:
    first, second = hash_password("secret123"), hash_password("secret123")
    assert first != second and first.startswith("$6$") and len(first.split("$")[2]) == 16
