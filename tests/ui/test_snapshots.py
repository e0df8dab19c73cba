"""Snapshot tests: one SVG per screen at 80x24 (tests/ui/__snapshots__; --snapshot-update to renew)."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from tests.ui.conftest import make_app
from ui.app import InstallerApp

Compare = Callable[..., bool]
Steps = Callable[[Pilot[Any]], Awaitable[None]]


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def walk(*keys: str, values: dict[str, str] | None = None, settle_after: bool = True) -> Steps:
    """Press keys (a '=' entry fills the focused Input from values) and let workers finish."""

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in keys:
            if key.startswith("="):
                focused = pilot.app.focused
                assert isinstance(focused, Input)
                focused.value = (values or {})[key[1:]]
            else:
                await pilot.press(key)
        if settle_after:
            await settle(pilot)

    return run


TO_DISKS = ("ctrl+n", "space")
TO_ENCRYPTION = (*TO_DISKS, "ctrl+n")
TO_SOFTWARE = (*TO_ENCRYPTION, "ctrl+n")
TO_USERS = (*TO_SOFTWARE, "space", "ctrl+n")
TO_REVIEW = (*TO_USERS, "tab", "tab", "=pw", "tab", "=pw", "ctrl+n")
PW = {"pw": "secret123"}


def test_welcome(snap_compare: Compare) -> None:
    assert snap_compare(make_app(), run_before=walk())


def test_disks(snap_compare: Compare) -> None:
    assert snap_compare(make_app(), run_before=walk(*TO_DISKS, "down"))


def test_encryption(snap_compare: Compare) -> None:
    assert snap_compare(make_app(), run_before=walk(*TO_ENCRYPTION, "space"))


def test_software(snap_compare: Compare) -> None:
    assert snap_compare(make_app(), run_before=walk(*TO_SOFTWARE, "space"))


def test_users_with_errors(snap_compare: Compare) -> None:
    assert snap_compare(make_app(), run_before=walk(*TO_USERS, "ctrl+n"))


def test_review(snap_compare: Compare) -> None:
    assert snap_compare(make_app(), run_before=walk(*TO_REVIEW, values=PW))


def test_progress(snap_compare: Compare) -> None:
    gate = threading.Event()
    app: InstallerApp = make_app(gate=gate)

    async def run(pilot: Pilot[Any]) -> None:
        await walk(*TO_REVIEW, "tab", "enter", values=PW, settle_after=False)(pilot)
        await pilot.pause()
        # Let the install go on once the screenshot is taken (it follows at once), so the app can exit.
        threading.Timer(1.0, gate.set).start()

    try:
        assert snap_compare(app, run_before=run)
    finally:
        gate.set()


def test_progress_after_a_failure(snap_compare: Compare) -> None:
    assert snap_compare(make_app(fail_step="payload"), run_before=walk(*TO_REVIEW, "tab", "enter", values=PW))


def test_done_after_a_failure(snap_compare: Compare) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await walk(*TO_REVIEW, "tab", "enter", values=PW)(pilot)
        await walk("enter")(pilot)  # Continue, on the failed Progress screen

    assert snap_compare(make_app(fail_step="payload"), run_before=run)


def test_quit_dialog(snap_compare: Compare) -> None:
    assert snap_compare(make_app(), run_before=walk(*TO_DISKS, "ctrl+q"))
