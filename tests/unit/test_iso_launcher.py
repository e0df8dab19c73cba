"""The live launcher's pure parts: kernel command line, consoles, result block, profile lookup."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iso import launcher
from iso.launcher import CmdlineError, LaunchRequest, ProfileSource, parse_cmdline, parse_profile_value
from iso.vm.serial import parse_install_result


def test_no_profile_means_interactive() -> None:
    request = parse_cmdline("BOOT_IMAGE=/live/vmlinuz boot=live console=tty1 console=ttyS0,115200n8\n")
    assert request == LaunchRequest(None, reboot=False, text=False, consoles=("/dev/tty1", "/dev/ttyS0"))


def test_path_on_the_medium() -> None:
    request = parse_cmdline("boot=live inst.profile=/profiles/vm-uefi.yaml")
    assert request.profile == ProfileSource("medium", "/profiles/vm-uefi.yaml")
    assert request.consoles == ("/dev/console",)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("hd:LABEL=AZLPROFILE:/profile.yaml", ProfileSource("device", "/profile.yaml", "LABEL=AZLPROFILE")),
        ("hd:UUID=1234-ABCD:/a/b.yaml", ProfileSource("device", "/a/b.yaml", "UUID=1234-ABCD")),
        ("hd:vdb1:/p.yaml", ProfileSource("device", "/p.yaml", "/dev/vdb1")),
        ("hd:/dev/sdb:/x/p.yaml", ProfileSource("device", "/x/p.yaml", "/dev/sdb")),
        ("http://10.0.2.2:8000/p.yaml", ProfileSource("url", "http://10.0.2.2:8000/p.yaml")),
        ("https://example.invalid/p.yaml?x=1", ProfileSource("url", "https://example.invalid/p.yaml?x=1")),
    ],
)
def test_profile_forms(value: str, expected: ProfileSource) -> None:
    assert parse_profile_value(value) == expected


@pytest.mark.parametrize("value", ["profiles/x.yaml", "hd:LABEL=X", "hd:LABEL=:/p.yaml", "hd::/p.yaml", "ftp://h/p"])
def test_bad_profile_values_are_refused(value: str) -> None:
    with pytest.raises(CmdlineError, match="inst.profile"):
        parse_profile_value(value)


def test_empty_profile_is_refused() -> None:
    with pytest.raises(CmdlineError, match="needs a value"):
        parse_cmdline("boot=live inst.profile")


def test_last_profile_wins_and_flags() -> None:
    request = parse_cmdline("inst.profile=/a.yaml inst.text inst.reboot inst.profile=hd:LABEL=P:/b.yaml")
    assert request.profile == ProfileSource("device", "/b.yaml", "LABEL=P")
    assert request.reboot and request.text
    assert not parse_cmdline("inst.reboot=0 inst.text=no").reboot
    assert not parse_cmdline("inst.reboot=0 inst.text=no").text


def test_quoted_values_and_unbalanced_quotes() -> None:
    assert parse_cmdline('inst.profile="hd:LABEL=MY DISK:/p.yaml"').profile == ProfileSource(
        "device", "/p.yaml", "LABEL=MY DISK"
    )
    assert parse_cmdline('foo="unbalanced inst.profile=/p.yaml').profile == ProfileSource("medium", "/p.yaml")


def test_consoles_are_deduplicated_in_order() -> None:
    request = parse_cmdline("console=ttyS0,115200n8 console=tty1 console=ttyS0")
    assert request.consoles == ("/dev/ttyS0", "/dev/tty1")


def test_install_command() -> None:
    assert launcher.install_argv(Path("/run/live/medium/profiles/vm-uefi.yaml")) == [
        "azl-installer", "install", "--profile", "/run/live/medium/profiles/vm-uefi.yaml", "--yes",
        "--log-dir", "/var/log/azl-installer", "--events", "/var/log/azl-installer/events.jsonl",
    ]  # fmt: skip


def test_result_block_is_what_the_vm_runner_parses() -> None:
    ok = launcher.result_lines(0, "ignored on success")
    assert ok == ["AZL-INSTALL-RESULT rc=0"]
    failed = launcher.result_lines(1, "line one\nstep 'payload' failed\n")
    assert failed == ["AZL-LOG-BEGIN", "line one", "step 'payload' failed", "AZL-LOG-END", "AZL-INSTALL-RESULT rc=1"]
    report = parse_install_result("[  5.0] noise\r\n" + "\r\n".join(failed) + "\r\n")
    assert report.rc == 1
    assert report.log == "line one\nstep 'payload' failed"
    assert launcher.result_lines(2, None)[1] == "(no install log was written)"


def test_profile_on_the_medium_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "x.yaml").write_text("version: 1\n")
    monkeypatch.setattr(launcher, "MEDIUM", tmp_path)
    say = launcher.Consoles([])
    assert launcher.resolve_profile(ProfileSource("medium", "/profiles/x.yaml"), say) == tmp_path / "profiles/x.yaml"
    with pytest.raises(launcher.ProfileUnavailable, match="profile not found"):
        launcher.resolve_profile(ProfileSource("medium", "/profiles/missing.yaml"), say)


def test_newest_log(tmp_path: Path) -> None:
    assert launcher.newest_log(tmp_path) is None
    old, new = tmp_path / "install-1.log", tmp_path / "install-2.log"
    old.write_text("old")
    new.write_text("new")
    os.utime(old, (1, 1))
    assert launcher.newest_log(tmp_path) == new


def test_consoles_write_every_line_to_each_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("")
    b.write_text("")
    say = launcher.Consoles([str(a), str(b), str(tmp_path / "missing/tty")])
    say.line("AZL-INSTALL-RESULT rc=0")
    say.close()
    assert a.read_text() == b.read_text() == "AZL-INSTALL-RESULT rc=0\n"
    assert "AZL-INSTALL-RESULT rc=0" in capsys.readouterr().out
