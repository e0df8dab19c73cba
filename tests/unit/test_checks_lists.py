"""Profile checks against the installer system's lists: refused only where the list is complete."""

from __future__ import annotations

import pytest

from installer.core.localization import BUILTIN, Listing, SystemLists
from profiles import ProfileError, profile_from_text

BASE = """\
storage: {disks: [{path: /dev/vda}]}
payload: {image: {path: /x.tar}}
"""
COMPLETE = SystemLists(
    Listing(("UTC", "Europe/Berlin"), "tzdata", complete=True),
    Listing(("us", "de-latin1"), "/usr/lib/kbd/keymaps", complete=True),
    Listing(("C.UTF-8", "de_DE.UTF-8"), "/usr/share/i18n/SUPPORTED", complete=True,
            accepted=frozenset({"de_DE", "de_DE.utf8", "C", "POSIX"})),
)
PARTIAL = SystemLists(
    Listing(("UTC",), BUILTIN, complete=False),
    Listing(("us", "gb"), "/usr/share/X11/xkb/rules/base.lst", complete=False),
    Listing(("C.UTF-8", "en_US.UTF-8"), "/usr/lib/locale", complete=False),
)


def problems(text: str) -> str:
    try:
        profile_from_text(text)
    except ProfileError as err:
        return str(err)
    return ""


@pytest.fixture
def lists(monkeypatch: pytest.MonkeyPatch) -> list[SystemLists]:
    chosen = [COMPLETE]
    monkeypatch.setattr("profiles.checks.system_lists", lambda: chosen[0])
    return chosen


def test_complete_lists_refuse_unknown_names_and_say_where_they_looked(lists: list[SystemLists]) -> None:
    text = BASE + "system: {timezone: Mars/Olympus, locale: xx_YY.UTF-8, keyboard: klingon}\n"
    found = problems(text)
    assert "system.timezone: unknown time zone 'Mars/Olympus'" in found
    assert "system.locale: unknown locale 'xx_YY.UTF-8' (not in /usr/share/i18n/SUPPORTED;" in found
    assert "system.keyboard: unknown console keymap 'klingon' (not in /usr/lib/kbd/keymaps;" in found


def test_other_spellings_and_charsets_of_a_listed_locale_pass(lists: list[SystemLists]) -> None:
    for locale in ("de_DE.UTF-8", "de_DE.utf8", "de_DE", "C", "C.UTF-8"):
        assert problems(BASE + f"system: {{locale: {locale}, keyboard: de-latin1}}\n") == "", locale


def test_a_host_without_complete_lists_refuses_nothing_it_cannot_know(lists: list[SystemLists]) -> None:
    lists[0] = PARTIAL
    assert problems(BASE + "system: {timezone: Europe/Berlin, locale: de_DE.UTF-8, keyboard: de-latin1}\n") == ""
    assert "is not a locale name" in problems(BASE + "system: {locale: 'not a locale'}\n")  # syntax still checked


@pytest.mark.parametrize(("value", "ok"), [
    ("$y$j9T$PKXc3hCOSyMqdaEQArI62/$abc", True), ("$6$salt$abc", True), ("$5$salt$abc", True),
    ("$2b$12$abcdefghijklmnopqrstuu0123", True), ("$1$salt$abc", False), ("$2a$05$abc", False),
    ("abDEFghIJklmn", False), ("hunter2", False),
])
def test_password_hash_methods(value: str, ok: bool) -> None:
    found = problems(BASE + f"users: [{{name: a, password_hash: '{value}'}}]\n")
    assert (found == "") is ok, found
