"""Time zones, keymaps and locales read from the system, each source as Azure Linux and Debian lay it out."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import pytest

from installer.core import localization as loc

SUPPORTED = """\
# glibc's localedata/SUPPORTED, as Debian's locales installs it
aa_ER UTF-8
aa_ER@saaho UTF-8
de_DE.UTF-8 UTF-8
de_DE ISO-8859-1
de_DE@euro ISO-8859-15
sr_RS@latin UTF-8
"""
BASE_LST = """\
! model
  pc105           Generic 105-key PC
! layout
  us              English (US)
  gb              English (UK)
  de              German
! variant
  dvorak          us: English (Dvorak)
  nodeadkeys      de: German (no dead keys)
! option
  grp             Switching to another layout
"""


def touch(path: Path, data: bytes = b"") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def test_time_zones_sorted_utc_first_and_a_fallback_without_tzdata() -> None:
    listing = loc.timezones({"Europe/Berlin", "America/New_York", "UTC", "Asia/Tokyo"})
    assert listing.values == ("UTC", "America/New_York", "Asia/Tokyo", "Europe/Berlin") and listing.complete
    empty = loc.timezones(set())
    assert empty.values[0] == "UTC" and empty.source == loc.BUILTIN and not empty.complete


def test_azure_linux_kbd_keymaps_legacy_and_xkb(tmp_path: Path) -> None:
    kbd = tmp_path / "usr/lib/kbd/keymaps"
    for name in ("legacy/i386/qwerty/us.map.gz", "legacy/i386/qwertz/de-latin1.map.gz", "legacy/i386/qwerty/uk.map.gz",
                 "xkb/gb.map.gz", "xkb/de-nodeadkeys.map.gz", "legacy/include/compose.inc.gz",
                 "legacy/i386/include/euro1.map.gz"):
        touch(kbd / name)
    listing = loc.keymaps([tmp_path / "usr/share/keymaps", kbd], tmp_path / "none.lst")
    assert listing.values == ("us", "de-latin1", "de-nodeadkeys", "gb", "uk")  # include/ holds fragments
    assert listing.complete and listing.source == str(kbd)


def test_debian_console_data_kmaps(tmp_path: Path) -> None:
    keymaps = tmp_path / "usr/share/keymaps"
    for name in ("i386/qwerty/uk.kmap.gz", "i386/qwertz/de.kmap.gz", "i386/include/qwerty-layout.inc.gz"):
        touch(keymaps / name)
    listing = loc.keymaps([keymaps], tmp_path / "none.lst")
    assert listing.values == ("us", "de", "uk") and listing.complete  # us is always offered


def test_xkb_layouts_when_there_are_no_keymap_files(tmp_path: Path) -> None:
    rules = tmp_path / "base.lst"
    rules.write_text(BASE_LST)
    listing = loc.keymaps([tmp_path / "nothing"], rules)
    assert listing.values == ("us", "de", "de-nodeadkeys", "gb", "us-dvorak")
    assert not listing.complete  # kbd's legacy names (de-latin1, uk) are not in it
    fallback = loc.keymaps([tmp_path / "nothing"], tmp_path / "none.lst")
    assert fallback.values[0] == "us" and "dvorak" in fallback.values and fallback.source == loc.BUILTIN


def test_debian_supported_list_offers_utf8_and_accepts_every_charset(tmp_path: Path) -> None:
    supported = tmp_path / "SUPPORTED"
    supported.write_text(SUPPORTED)
    listing = loc.locales(supported, tmp_path / "none", tmp_path / "none")
    assert listing.values == ("C.UTF-8", "aa_ER.UTF-8", "aa_ER.UTF-8@saaho", "de_DE.UTF-8", "sr_RS.UTF-8@latin")
    assert listing.complete and listing.source == str(supported)
    for name in ("de_DE.utf8", "de_DE", "de_DE@euro", "de_DE.ISO-8859-1", "aa_ER", "C", "POSIX", "C.UTF-8"):
        assert listing.knows(name), name
    assert not listing.knows("de_AT.UTF-8") and not listing.knows("xx_YY")


def test_azure_linux_compiled_langpacks_and_locale_sources(tmp_path: Path) -> None:
    compiled, sources = tmp_path / "usr/lib/locale", tmp_path / "usr/share/i18n/locales"
    touch(compiled / "C.utf8/LC_CTYPE")
    touch(compiled / "en_US.utf8/LC_CTYPE")  # glibc-langpack-en
    touch(compiled / "en_US/LC_CTYPE")
    only = loc.locales(tmp_path / "no-SUPPORTED", compiled, tmp_path / "none")
    assert only.values == ("C.UTF-8", "en_US.UTF-8") and not only.complete  # other langpacks may exist
    for name in ("de_DE", "sr_RS@latin", "translit_combining", "i18n", "iso14651_t1", "POSIX"):
        touch(sources / name)
    both = loc.locales(tmp_path / "no-SUPPORTED", compiled, sources)
    assert both.values == ("C.UTF-8", "de_DE.UTF-8", "en_US.UTF-8", "sr_RS.UTF-8@latin") and both.complete
    assert both.source == f"{compiled}, {sources}"


@pytest.mark.skipif(shutil.which("localedef") is None or not Path("/usr/share/i18n/locales/de_DE").exists(),
                    reason="needs localedef and glibc's locale sources")
def test_a_real_locale_archive_is_read_like_locale_a(tmp_path: Path) -> None:
    (tmp_path / "usr/lib/locale").mkdir(parents=True)
    for charset, name in (("UTF-8", "de_DE.UTF-8"), ("ISO-8859-1", "fr_FR")):
        subprocess.run(["localedef", f"--prefix={tmp_path}", "-i", name.split(".")[0], "-f", charset, name],
                       check=True, capture_output=True)
    archive = tmp_path / "usr/lib/locale/locale-archive"
    listed = subprocess.run(["localedef", f"--prefix={tmp_path}", "--list-archive"], capture_output=True,
                            text=True, check=True).stdout.split()
    assert sorted(loc.archive_locales(archive)) == sorted(listed) == ["de_DE.utf8", "fr_FR", "fr_FR.iso88591"]
    listing = loc.locales(tmp_path / "none", tmp_path / "usr/lib/locale", tmp_path / "none")
    assert listing.values == ("C.UTF-8", "de_DE.UTF-8") and listing.knows("fr_FR.ISO-8859-1")


def test_nothing_at_all_falls_back_and_is_never_empty(tmp_path: Path) -> None:
    listing = loc.locales(tmp_path / "a", tmp_path / "b", tmp_path / "c")
    assert listing.values[0] == "C.UTF-8" and "en_US.UTF-8" in listing.values and not listing.complete
    assert loc.archive_locales(tmp_path / "a") == [] and loc.supported_locales(tmp_path / "a") == []
    (tmp_path / "junk").write_bytes(b"\0" * 64)
    assert loc.archive_locales(tmp_path / "junk") == []


def test_this_systems_lists_are_never_empty_and_start_with_the_defaults() -> None:
    lists = loc.system_lists()
    assert lists.timezones.values[0] == "UTC" and lists.keymaps.values[0] == "us"
    assert lists.locales.values[0] == "C.UTF-8"
    for listing in (lists.timezones, lists.keymaps, lists.locales):
        assert len(set(listing.values)) == len(listing.values) >= 8


def test_narrowed_prefix_first_then_city_then_anywhere() -> None:
    zones = ("UTC", "America/Argentina/Buenos_Aires", "Europe/Berlin", "Europe/Paris", "Antarctica/Troll")
    assert loc.narrowed(zones, "berlin") == ["Europe/Berlin"]
    assert loc.narrowed(zones, "EUR") == ["Europe/Berlin", "Europe/Paris"]
    assert loc.narrowed(zones, "ar") == ["America/Argentina/Buenos_Aires", "Europe/Paris", "Antarctica/Troll"]
    assert loc.narrowed(zones, "tro") == ["Antarctica/Troll"] and loc.narrowed(zones, "  ") == list(zones)


def test_locale_spellings() -> None:
    assert loc.normalize_locale("de_DE.UTF-8@euro") == "de_DE.utf8@euro"
    assert loc.display_locale("C.utf8") == "C.UTF-8" and loc.display_locale("fr_FR.iso88591") == "fr_FR.iso88591"
    assert loc.with_codeset("sr_RS@latin", "UTF-8") == "sr_RS.UTF-8@latin"
