from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from installer.cli import main

EXAMPLES = Path(__file__).parents[2] / "profiles" / "examples"


def test_every_example_profile_validates(capsys: pytest.CaptureFixture[str]) -> None:
    paths = sorted(EXAMPLES.glob("*.yaml"))
    assert len(paths) >= 4
    assert main(["validate", *map(str, paths)]) == 0
    assert capsys.readouterr().out.count(": ok") == len(paths)


def test_validate_reports_located_errors_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("storage:\n  disks: [{path: /dev/vda}]\n  layout: auto\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:3:3: storage.layout: unknown key 'layout'" in err
    assert "Traceback" not in err


def test_missing_profile_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert capsys.readouterr().err.strip().endswith("cannot read the profile: No such file or directory")


def test_schema_is_json_with_every_section(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["required"] == ["storage"]
    assert set(schema["properties"]) >= {"storage", "payload", "system", "users", "root", "scripts", "encryption"}
    partition = schema["properties"]["storage"]["properties"]["partitions"]["items"]
    assert partition["properties"]["filesystem"]["enum"][:3] == ["ext4", "xfs", "btrfs"]


def test_plan_on_an_image_touches_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / "disk.img"
    code = main(["plan", "--profile", str(EXAMPLES / "sample.yaml"), "--target-image", str(image),
                 "--image-size", "4GiB", "--json"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 0 and not image.exists()
    assert [p["filesystem"] for p in plan["disks"][0]["partitions"]] == ["biosboot", "ext4", "ext4"]
    assert plan["destructive"][0].startswith(f"erase {image}")
    assert [s["id"] for s in plan["steps"]] == ["storage", "mount", "early-config", "payload", "system", "selinux",
                                                  "post-scripts",
                                                  "finish"]


def test_plan_lists_blockers_for_features_not_applied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text((EXAMPLES / "sample.yaml").read_text()
                       + "encryption: {enabled: true, passphrase: x}\n")
    assert main(["plan", "--profile", str(profile), "--target-image", str(tmp_path / "i.img"),
                 "--image-size", "4GiB"]) == 2
    assert "this kernel has no device-mapper" in capsys.readouterr().out


def test_plan_with_a_too_small_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--profile", str(EXAMPLES / "sample.yaml"), "--target-image", str(tmp_path / "i.img"),
                 "--image-size", "1GiB"]) == 2
    assert "storage.disks[0]: the layout needs" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["--image-size", "big"], "--image-size: 'big' is not a size"),
    (["--image-size", "1MiB"], "an image needs at least 64MiB"),
])
def test_bad_image_size(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    argv = ["plan", "--profile", str(EXAMPLES / "sample.yaml"), "--target-image", str(tmp_path / "i.img"), *args]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_install_without_confirmation_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / "disk.img"
    code = main(["install", "--profile", str(EXAMPLES / "sample.yaml"), "--target-image", str(image),
                 "--image-size", "4GiB", "--log-dir", str(tmp_path / "logs")])
    assert code == 2 and not image.exists()
    err = capsys.readouterr().err
    assert "refusing to change disks without confirmation" in err or "must run as root" in err


def test_output_cut_short_by_its_reader_is_no_internal_error() -> None:
    """`azl-installer schema | head -1`: the reader goes away, as it meant to; no traceback, no "internal error"."""
    read, write = os.pipe()
    fcntl.fcntl(read, fcntl.F_SETPIPE_SZ, 4096)  # smaller than the schema: the writer is still writing at the close
    proc = subprocess.Popen([sys.executable, "-m", "installer", "schema"], stdout=write, stderr=subprocess.PIPE,
                            cwd=Path(__file__).parents[2])
    os.close(write)
    os.read(read, 1)
    os.close(read)  # as head does after its line
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 141, stderr  # 128 + SIGPIPE, as a shell reports a program the pipe ended
    assert stderr == ""
