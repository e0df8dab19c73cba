"""The time zones, console keymaps and locales an install can choose from, read from the running system.

The Welcome screen and the line mode offer these lists, and profiles/checks.py validates a
profile against them where that is sound (Listing.complete). Each list is read at run time
from the installer system, which on the ISO is also what the payload installs or the same
distribution family; a missing source falls back to a short built-in list (never empty:
UTC, us and C.UTF-8 are always there), marked as not complete so that nothing is refused
because of it.

Where the lists come from:

Time zones: Python's zoneinfo over the system's tzdata (/usr/share/zoneinfo), the same files
the installed system's /etc/localtime links into. Azure Linux: the tzdata package; the
Debian live root: tzdata (named in iso/recipe.py: nothing else pulls it in there).

Console keymaps: the names `loadkeys` and systemd-vconsole-setup accept for KEYMAP= in
/etc/vconsole.conf, found as localectl list-keymaps finds them: files NAME.map[.gz] under
/usr/share/keymaps, /usr/share/kbd/keymaps and /usr/lib/kbd/keymaps ("include" directories
hold fragments, not keymaps).
- Azure Linux (Fedora's kbd packaging): /usr/lib/kbd/keymaps/legacy/** holds kbd's own maps
  (kbd-legacy: us, de-latin1, uk, dvorak, jp106, ...) and /usr/lib/kbd/keymaps/xkb/ holds maps
  converted at build time from every X layout and variant, named LAYOUT or LAYOUT-VARIANT
  (us, gb, de-nodeadkeys, ...), minus those that cannot type ASCII.
- Debian: kbd ships no keymaps. console-data puts NAME.kmap.gz under /usr/share/keymaps (which
  Debian's loadkeys finds: it tries the .kmap suffix); console-setup/keyboard-configuration
  instead compile an X layout (XKBLAYOUT in /etc/default/keyboard) with ckbcomp at boot. So on
  a Debian root without console-data the list comes from xkb-data's
  /usr/share/X11/xkb/rules/base.lst: the same LAYOUT and LAYOUT-VARIANT names that Fedora's kbd
  converts, i.e. names an Azure Linux target accepts (such a list misses kbd's legacy names,
  so it is not complete).

Locales: glibc's list of supported locales (localedata/SUPPORTED: "de_DE.UTF-8 UTF-8" lines).
Only the UTF-8 ones are offered; every listed charset is accepted by the checks.
- Debian: the locales package installs that list as /usr/share/i18n/SUPPORTED (locale-gen
  compiles what /etc/locale.gen picks from it).
- Azure Linux (Fedora's glibc packaging): the list is used at build time only, to make one
  glibc-langpack-LANG package per language (glibc-all-langpacks holds them all; the payload
  installs glibc-langpack-de for de_DE.UTF-8). At run time the installer system shows what
  it has compiled, /usr/lib/locale/locale-archive (glibc-all-langpacks) and
  /usr/lib/locale/NAME/ directories (single langpacks), and, with glibc-locale-source, every
  locale glibc can build as /usr/share/i18n/locales/NAME. The compiled ones alone are not
  complete: an installer image with only glibc-langpack-en knows nothing of de_DE.
"""

from __future__ import annotations

import os
import re
import struct
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

KEYMAP_DIRS = (Path("/usr/share/keymaps"), Path("/usr/share/kbd/keymaps"), Path("/usr/lib/kbd/keymaps"))
XKB_RULES = Path("/usr/share/X11/xkb/rules/base.lst")
SUPPORTED = Path("/usr/share/i18n/SUPPORTED")
LOCALE_SOURCES = Path("/usr/share/i18n/locales")
COMPILED_LOCALES = Path("/usr/lib/locale")

FALLBACK_TIMEZONES = ("UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York",
                      "America/Chicago", "America/Los_Angeles", "Asia/Tokyo", "Asia/Shanghai", "Australia/Sydney")
FALLBACK_KEYMAPS = ("us", "uk", "de", "fr", "es", "it", "jp106", "dvorak")
FALLBACK_LOCALES = ("C.UTF-8", "en_US.UTF-8", "en_GB.UTF-8", "de_DE.UTF-8", "fr_FR.UTF-8", "es_ES.UTF-8",
                    "ja_JP.UTF-8", "zh_CN.UTF-8")
BUILTIN = "the installer's built-in list"

_KEYMAP_SUFFIXES = (".map", ".kmap")
_COMPRESSED = ("", ".gz", ".bz2", ".xz", ".zst")
_KEYMAP_NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,127}$")
_LOCALE_SOURCE_NAME = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?(@[A-Za-z0-9]+)?$")
_ARCHIVE_MAGIC = 0xDE020109  # glibc locale/locarchive.h


@dataclass(frozen=True)
class Listing:
    """One list: what to offer, what to accept, and where it came from."""

    values: tuple[str, ...]  # offered, in display order
    source: str  # the files it was read from, or BUILTIN
    complete: bool  # the source names everything the target can use: safe to refuse other names
    accepted: frozenset[str] = frozenset()  # besides values: e.g. locales in other charsets, normalized

    def knows(self, name: str) -> bool:
        return name in self.values or name in self.accepted or normalize_locale(name) in self.accepted


@dataclass(frozen=True)
class SystemLists:
    timezones: Listing
    keymaps: Listing
    locales: Listing


def _first(always: str, values: Iterable[str]) -> tuple[str, ...]:
    rest = sorted(set(values) - {always})
    return (always, *rest)


# -- time zones ------------------------------------------------------------------------------
def timezones(zones: Iterable[str] | None = None, source: str = "tzdata (/usr/share/zoneinfo)") -> Listing:
    """Every zone the system knows, sorted, UTC first; the built-in list when there is no tzdata."""
    found = set(zoneinfo.available_timezones() if zones is None else zones)
    if not found:
        return Listing(_first("UTC", FALLBACK_TIMEZONES), BUILTIN, complete=False)
    return Listing(_first("UTC", found), source, complete=True)


# -- keymaps ---------------------------------------------------------------------------------
def _keymap_name(filename: str) -> str | None:
    for suffix in _KEYMAP_SUFFIXES:
        for compressed in _COMPRESSED:
            ending = suffix + compressed
            if filename.endswith(ending) and len(filename) > len(ending):
                name = filename[: -len(ending)]
                return name if _KEYMAP_NAME.match(name) else None
    return None


def kbd_keymaps(directories: Sequence[Path] = KEYMAP_DIRS) -> tuple[set[str], list[Path]]:
    """Keymap names under the kbd directories, and the directories that had any."""
    names: set[str] = set()
    used: list[Path] = []
    for directory in directories:
        before = len(names)
        for _parent, dirs, files in os.walk(directory):  # links are not followed, as localectl's nftw
            dirs[:] = [d for d in dirs if d != "include"]
            names.update(n for n in map(_keymap_name, files) if n is not None)
        if len(names) > before:
            used.append(directory)
    return names, used


def xkb_layouts(rules: Path = XKB_RULES) -> set[str]:
    """LAYOUT and LAYOUT-VARIANT names from an xkb rules .lst file (the names Fedora's kbd converts)."""
    try:
        text = rules.read_text(errors="replace")
    except OSError:
        return set()
    names: set[str] = set()
    section = ""
    for line in text.splitlines():
        if line.startswith("!"):
            section = line[1:].strip()
            continue
        fields = line.split()
        if not fields:
            continue
        if section == "layout":
            names.add(fields[0])
        elif section == "variant" and len(fields) >= 2 and fields[1].endswith(":"):
            names.add(f"{fields[1][:-1]}-{fields[0]}")
    return {n for n in names if _KEYMAP_NAME.match(n)}


def keymaps(directories: Sequence[Path] = KEYMAP_DIRS, rules: Path = XKB_RULES) -> Listing:
    """kbd's keymap files if there are any; else the xkb layouts; else the built-in list. us always."""
    names, used = kbd_keymaps(directories)
    if names:
        return Listing(_first("us", names), ", ".join(map(str, used)), complete=True)
    layouts = xkb_layouts(rules)
    if layouts:
        return Listing(_first("us", layouts), str(rules), complete=False)
    return Listing(_first("us", FALLBACK_KEYMAPS), BUILTIN, complete=False)


# -- locales ---------------------------------------------------------------------------------
def normalize_locale(name: str) -> str:
    """glibc's spelling-independent form: 'de_DE.utf8' and 'de_DE.UTF-8' are one locale (codeset
    lower case, letters and digits only, as _nl_normalize_codeset makes it)."""
    base, _, modifier = name.partition("@")
    language, dot, codeset = base.partition(".")
    if dot:
        codeset = re.sub(r"[^a-z0-9]", "", codeset.lower())
        language = f"{language}.{codeset}"
    return language + (f"@{modifier}" if modifier else "")


def display_locale(name: str) -> str:
    """The name as locale.conf spells it: the UTF-8 codeset as 'UTF-8' ('C.utf8' -> 'C.UTF-8')."""
    base, at, modifier = name.partition("@")
    language, dot, codeset = base.partition(".")
    if dot and re.sub(r"[^a-z0-9]", "", codeset.lower()) == "utf8":
        codeset = "UTF-8"
    return f"{language}{dot}{codeset}{at}{modifier}"


def _is_utf8(name: str) -> bool:
    return normalize_locale(name).partition("@")[0].endswith(".utf8")


def with_codeset(name: str, charset: str) -> str:
    """'aa_ER' with charset UTF-8 -> 'aa_ER.UTF-8' (before any @modifier); a name with a codeset stays."""
    base, at, modifier = name.partition("@")
    return name if "." in base else f"{base}.{charset}{at}{modifier}"


def supported_locales(path: Path = SUPPORTED) -> list[tuple[str, str]]:
    """(name, charset) of each line of glibc's SUPPORTED list, such as ('aa_ER', 'UTF-8'), in file order."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    lines = [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [(fields[0], fields[1] if len(fields) > 1 else "") for fields in lines]


def archive_locales(path: Path) -> list[str]:
    """The names in a glibc locale-archive (locale -a reads the same table): the header's name hash
    table points at NUL-terminated names; empty slots have no name."""
    try:
        data = path.read_bytes()
    except OSError:
        return []
    if len(data) < 20:
        return []
    magic, _serial, table, used, size = struct.unpack_from("=5I", data)
    if magic != _ARCHIVE_MAGIC or table + size * 12 > len(data):
        return []
    names = []
    for slot in range(size):
        _hash, name_offset, record_offset = struct.unpack_from("=3I", data, table + slot * 12)
        if name_offset and record_offset and name_offset < len(data):  # offsets count from the file's start
            end = data.find(b"\0", name_offset)
            names.append(data[name_offset:end].decode("ascii", "replace"))
    return names if len(names) <= used else []  # more names than the header says: not an archive we read


def compiled_locales(directory: Path = COMPILED_LOCALES) -> list[str]:
    """Locales compiled on this system: the locale-archive and one directory per locale (with LC_CTYPE)."""
    names = archive_locales(directory / "locale-archive")
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        entries = []
    return names + [e.name for e in entries if (e / "LC_CTYPE").is_file()]


def source_locales(directory: Path = LOCALE_SOURCES) -> list[str]:
    """Every locale glibc can build here (glibc-locale-source, or Debian's locales), as NAME.UTF-8."""
    try:
        entries = sorted(e.name for e in directory.iterdir())
    except OSError:
        return []
    found = []
    for name in entries:
        if _LOCALE_SOURCE_NAME.match(name):
            base, at, modifier = name.partition("@")
            found.append(f"{base}.UTF-8{at}{modifier}")
    return found


def locales(supported: Path = SUPPORTED, compiled: Path = COMPILED_LOCALES,
            sources: Path = LOCALE_SOURCES) -> Listing:
    """The UTF-8 locales glibc supports here, C.UTF-8 first; every charset listed is accepted."""
    listed = supported_locales(supported)
    if listed:
        # A name without a codeset ('aa_ER UTF-8') is offered as LANG spells it: aa_ER.UTF-8.
        offered = {display_locale(with_codeset(n, c)) for n, c in listed if _is_utf8(with_codeset(n, c))}
        accepted = {normalize_locale(form) for n, c in listed for form in (n, with_codeset(n, c))}
        return Listing(_first("C.UTF-8", offered), str(supported), complete=True,
                       accepted=frozenset(accepted) | {"C", "POSIX"})
    built, buildable = compiled_locales(compiled), source_locales(sources)
    if built or buildable:
        names = [*built, *buildable]
        where = ", ".join(str(p) for p, found in ((compiled, built), (sources, buildable)) if found)
        return Listing(_first("C.UTF-8", {display_locale(n) for n in names if _is_utf8(n)}), where,
                       complete=bool(buildable), accepted=frozenset(map(normalize_locale, names)) | {"C", "POSIX"})
    return Listing(_first("C.UTF-8", FALLBACK_LOCALES), BUILTIN, complete=False, accepted=frozenset({"C", "POSIX"}))


@lru_cache(maxsize=1)
def system_lists() -> SystemLists:
    """The three lists of the running system, read once per process."""
    return SystemLists(timezones(), keymaps(), locales())


def narrowed(options: Sequence[str], typed: str) -> list[str]:
    """Options containing what was typed (any case): those that start with it first, order kept."""
    needle = typed.strip().casefold()
    if not needle:
        return list(options)
    starts = [o for o in options if o.casefold().startswith(needle)]
    inner = [o for o in options if needle in o.casefold() and not o.casefold().startswith(needle)]
    # "berlin" finds Europe/Berlin: a zone's city (after the last /) counts as a start too.
    city = [o for o in inner if o.casefold().rpartition("/")[2].startswith(needle)]
    return starts + city + [o for o in inner if o not in city]
