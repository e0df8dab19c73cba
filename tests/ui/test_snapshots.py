"""Snapshot tests: one SVG per screen at 80x24 (tests/ui/__snapshots__; --snapshot-update to renew)."""

from __future__ import annotations

import threading
from typing import Any

from textual.pilot import Pilot

from tests.support.ui import PW, TO_DISKS, TO_ENCRYPTION, TO_REVIEW, TO_SOFTWARE, TO_USERS, Compare, make_app, walk
from ui.app import InstallerApp


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
        # Let the install go on once the screenshot is taken, so the app can exit. The screenshot follows at
        # once, but not within 1 s on a machine busy with two QEMU guests: the install had gone on and the
        # snapshot differed (2026-12-02). 8 s, which only the app's exit waits for.
        threading.Timer(8.0, gate.set).start()

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
