"""Profiles and targets built to hurt: each ends in one line and exit 2, with bounded work (counted, not timed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from installer.cli import main
from installer.core.events import EventBus
from installer.core.runner import RecordingRunner, Reply
from installer.targetimage import ImageError, attached_image, image_description
from profiles import ProfileError, profile_from_text
from profiles.source import MAX_DEPTH, MAX_VALUES

# Ten levels of nine aliases each: 9**10 (3.5 billion) values from a few hundred bytes.
ALIAS_BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]\n" for n in range(1, 10)) + "storage: *a9\n"


def one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes) -> str:
    path = tmp_path / "p.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_an_alias_bomb_stops_at_the_value_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert len(ALIAS_BOMB) < 600
    err = one_line(tmp_path, capsys, ALIAS_BOMB)
    assert f"the document expands to more than {MAX_VALUES} values: YAML aliases" in err


def test_a_recursive_alias_is_a_loop_not_a_recursion_error(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    err = one_line(tmp_path, capsys, "storage: &s\n  disks: *s\n")
    assert "a YAML alias (*name) points into the value that contains it: a loop" in err


def test_deep_nesting_is_one_line() -> None:
    with pytest.raises(ProfileError) as caught:
        profile_from_text("storage: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n")
    assert f"nested more than {MAX_DEPTH} levels deep" in str(caught.value)


def test_a_few_honest_aliases_still_work() -> None:
    profile = profile_from_text("storage:\n  disks: [&d {path: /dev/vda}]\n  leave_alone: []\n"
                                "users: [{name: a, groups: &g [wheel]}, {name: b, groups: *g}]\n"
                                "payload: {repositories: [{name: s, baseurl: 'file:///srv'}], groups: [core]}\n")
    assert [u.groups for u in profile.users] == [("wheel",), ("wheel",)]


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: d, "cannot read the profile: a directory"),
    (lambda d: Path(os.devnull), "cannot read the profile: not a regular file"),
    (lambda d: d / "missing.yaml", "cannot read the profile: No such file or directory"),
])
def test_a_profile_path_that_is_not_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           make: object, message: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_a_huge_profile_is_not_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as out:
        out.truncate(5 * 2**20)  # sparse: nothing is written, yet it is 5 MiB long
    assert main(["validate", str(path)]) == 2
    assert "larger than 4 MiB" in capsys.readouterr().err


def test_nul_bytes_and_a_huge_duplicate_key_are_one_capped_line(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert "not valid YAML" in one_line(tmp_path, capsys, b"storage:\x00\n")
    key = "k" * 100_000
    err = one_line(tmp_path, capsys, f"? {key}\n: 1\n? {key}\n: 2\n")  # explicit keys: no 1024-character limit
    assert "(100000 characters)" in err and len(err) < 400


# -- target image paths ----------------------------------------------------------------------
SAMPLE = str(Path(__file__).parents[2] / "profiles" / "examples" / "sample.yaml")


@pytest.mark.parametrize(("where", "message"), [
    (lambda d: d, "is a directory: give the image file's path"),
    (lambda d: Path(os.devnull), "is not a regular file (a device node?)"),
    (lambda d: d / "no" / "disk.img", "the directory"),
])
def test_a_target_image_that_cannot_be_one_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       where: object, message: str) -> None:
    image = where(tmp_path)  # type: ignore[operator]
    assert main(["plan", "--profile", SAMPLE, "--target-image", str(image)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "no").exists()


def test_the_plan_says_an_existing_image_holds_data_that_is_erased(tmp_path: Path) -> None:
    image = tmp_path / "used.img"
    image.write_bytes(b"x" * 2**20)
    assert "1 MiB of data: ERASED" in image_description(image)
    assert image_description(tmp_path / "new.img") == "disk image file (new)"


def test_an_image_that_cannot_be_attached_is_removed_if_this_run_made_it(tmp_path: Path) -> None:
    runner = RecordingRunner()
    runner.reply(["losetup"], Reply(returncode=1, output="losetup: cannot find an unused loop device"))
    new, old = tmp_path / "new.img", tmp_path / "old.img"
    old.write_bytes(b"keep")
    for image in (new, old):
        with pytest.raises(ImageError, match="cannot attach .* as a loop device: losetup: cannot find"), \
                attached_image(image, 64 * 2**20, runner, EventBus()):
            pass
    assert not new.exists() and old.exists()
