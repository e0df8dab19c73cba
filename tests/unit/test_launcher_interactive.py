"""The live launcher with a profile that sets interactive_sections: it hands over to the console login."""

from __future__ import annotations

from pathlib import Path

import pytest

from iso import launcher
from iso.launcher import LaunchRequest, ProfileSource, leaves_sections_open
from profiles import profile_from_text

BASE = "storage:\n  disks: [{path: /dev/vda}]\npayload:\n  image: {path: /root.tar}\n"


@pytest.mark.parametrize(("tail", "expected"), [
    ("", False),
    ("interactive_sections: [storage]\n", True),
    ("interactive_sections: ['*']  # everything\n", True),
    ("interactive_sections:\n  - storage\n  - users\n", True),
    ("interactive_sections:\n# none\n- users\n", True),
    ("interactive_sections: []\n", False),
    ("interactive_sections:\nversion: 1\n", False),
    ("system:\n  interactive_sections: [storage]\n", False),  # not the top-level key
])
def test_the_key_is_seen_without_a_yaml_parser(tail: str, expected: bool) -> None:
    assert leaves_sections_open(BASE + tail) is expected


def test_agrees_with_the_real_loader_on_valid_profiles() -> None:
    for tail in ("interactive_sections: [storage]\n", "interactive_sections:\n  - users\n", ""):
        loaded = profile_from_text(BASE + tail, "p.yaml")
        assert leaves_sections_open(BASE + tail) is bool(loaded.interactive_sections)


def test_unattended_hands_over_instead_of_installing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "profiles").mkdir()
    profile = tmp_path / "profiles" / "ask.yaml"
    profile.write_text(BASE + "interactive_sections: [storage]\n")
    monkeypatch.setattr(launcher, "MEDIUM", tmp_path)

    def no_install(*_args: object) -> tuple[int, list[str]]:
        raise AssertionError("the launcher must not install a profile with interactive_sections")

    monkeypatch.setattr(launcher, "run_install", no_install)
    request = LaunchRequest(ProfileSource("medium", "/profiles/ask.yaml"))
    with pytest.raises(launcher.HandOver) as info:
        launcher.unattended(request.profile, request, launcher.Consoles([]))  # type: ignore[arg-type]
    assert info.value.profile == profile


def test_hand_over_leaves_the_profile_for_the_console_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = tmp_path / "run"
    monkeypatch.setattr(launcher, "RUN_DIR", run_dir)
    monkeypatch.setattr(launcher, "INTERACTIVE_PROFILE", run_dir / "interactive-profile")
    launcher.hand_over(Path("/run/live/medium/profiles/ask.yaml"), launcher.Consoles([]))
    assert (run_dir / "interactive-profile").read_text() == "/run/live/medium/profiles/ask.yaml\n"
    hint = (run_dir / "hint.txt").read_text()
    assert hint.startswith("The profile /run/live/medium/profiles/ask.yaml leaves sections for you to choose")
    out = capsys.readouterr().out
    assert launcher.READY_MARKER in out and "azl-installer --profile /run/live/medium/profiles/ask.yaml" in out


def test_the_console_login_uses_the_handed_over_profile() -> None:
    script = (Path(__file__).parents[2] / "iso/rootfs/etc/profile.d/azl-live.sh").read_text()
    assert "/run/azl-installer/interactive-profile" in script
