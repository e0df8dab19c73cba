"""The long lists (language, keyboard, time zone): type to narrow them, in the Textual UI and the line mode."""

from __future__ import annotations

import time
from dataclasses import replace

from installer.core.localization import system_lists
from tests.support.ui import LISTS, SIZE, Compare, current, dry_run, make_app, run, shown, walk
from ui.app import InstallerApp
from ui.screens.picker import PickerScreen
from ui.screens.welcome import WelcomeScreen


async def test_typing_into_a_field_opens_the_list_narrowed_to_what_was_typed() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d", "e", "_", "c")
        assert isinstance(app.screen, PickerScreen)
        text = await shown(pilot, app)  # glyph-safe, as every screen
        assert "de_CH.UTF-8" in text and "de_AT.UTF-8" not in text and "1 of 10" in text
        await pilot.press("enter")
        assert isinstance(app.screen, WelcomeScreen)
        assert app.choices.locale == "de_CH.UTF-8"
        assert "Language        < de_CH.UTF-8 >  (3 of 10)" in await shown(pilot, app)


async def test_arrows_move_in_the_narrowed_list_and_enter_picks() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab", "d")  # keyboard: de, de-latin1, de-nodeadkeys, dvorak, then us-dvorak
        assert "5 of 12" in await shown(pilot, app)
        await pilot.press("down", "down", "up", "down", "down", "enter")
        assert app.choices.keyboard == "dvorak"


async def test_enter_opens_the_whole_list_at_the_current_value_and_a_city_finds_its_zone() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab", "tab", "enter")
        text = await shown(pilot, app)
        assert isinstance(app.screen, PickerScreen) and "10 of 10" in text and "Esc keeps UTC" in text
        await pilot.press("b", "e", "r", "l", "enter")
        assert app.choices.timezone == "Europe/Berlin"


async def test_nothing_matching_keeps_the_list_open_and_escape_keeps_the_value() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x", "q", "enter")
        assert isinstance(app.screen, PickerScreen)
        assert "nothing matches 'xq'" in await shown(pilot, app)
        await pilot.press("backspace", "backspace", "escape")
        assert isinstance(app.screen, WelcomeScreen) and app.choices.locale == "C.UTF-8"


def test_line_mode_narrows_by_prefix_or_part_and_takes_numbers_from_the_narrowed_list() -> None:
    answers = ["de_", "3",  # de_AT, de_CH, de_DE: the third
               "zz", "dvorak",  # nothing matches, then an exact name
               "york",  # one match: taken
               "q"]
    code, out, _ = run(answers)
    assert code == 2
    assert "  1) de_AT.UTF-8\n  2) de_CH.UTF-8\n  3) de_DE.UTF-8\n" in out
    assert "! nothing matches 'zz'" in out and "Time zone: America/New_York" in out


def test_line_mode_shows_a_long_list_only_in_part_until_narrowed() -> None:
    zones = replace(LISTS.timezones, values=("UTC", *(f"Etc/Zone{i:02}" for i in range(40)), "Europe/Berlin"))
    engine = dry_run(lists=replace(LISTS, timezones=zones))
    code, out, _ = run(["", "", "zone1", "4", "q"], engine)
    assert "Time zone: 42 to choose from" in out and "... (27 more: type more of the name)" in out
    assert "  10) Etc/Zone19\n" in out  # zone1 narrows to Zone10..Zone19, then 4 picks Zone13
    assert "Disks:" in out  # the welcome section ended with a pick


def test_snapshot_time_zone_list_narrowed(snap_compare: Compare) -> None:
    assert snap_compare(make_app(), run_before=walk("tab", "tab", "e", "u", "r", "down"))


async def test_this_systems_long_lists_draw_with_console_glyphs_and_narrow_quickly() -> None:
    app = InstallerApp(dry_run(lists=system_lists()), detected="LANG C.UTF-8")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab", "tab", "enter")
        text = await shown(pilot, app)  # a scroll bar for hundreds of zones: whole cells only
        assert f"of {len(system_lists().timezones.values)}" in text
        started = time.perf_counter()
        await pilot.press("a")
        assert time.perf_counter() - started < 1.0
        picker = current(app)
        assert isinstance(picker, PickerScreen) and all("a" in o.casefold() for o in picker.found)
