"""installer.dryrun: recorded machines, the install walk, and that a dry-run writes only under its root."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from installer.api import Event, Refused, SaveError
from installer.dryrun import DryRunAPI, MachineError, load_machine, machine_from_json, shipped_machines
from installer.plan import make_plan
from profiles.model import AutoLayout, DiskMatch, Encryption, Payload, Profile, Storage
from profiles.sizes import GiB

ROOT = Path(__file__).parents[2]
PROFILE = Profile(storage=Storage(disks=(DiskMatch(path="/dev/vda"),), auto=AutoLayout()),
                  payload=Payload(packages=("bash",)))


def test_the_shipped_machines_load() -> None:
    assert shipped_machines() == ["one-disk-uefi", "small-disk-bios", "three-disks"]
    machines = {name: load_machine(name) for name in shipped_machines()}
    assert [d.path for d in machines["three-disks"].inventory.disks] == ["/dev/vda", "/dev/vdb", "/dev/vdc"]
    assert machines["three-disks"].inventory.disks[1].partitions[1].label == "data"  # the disk to keep
    assert machines["small-disk-bios"].facts.firmware == "bios"
    assert machines["one-disk-uefi"].facts.memory == 4 * GiB and machines["one-disk-uefi"].facts.device_mapper
    assert all(m.facts.recorded and m.facts.description for m in machines.values())


@pytest.mark.parametrize(("text", "message"), [
    ("[]", "m: expected a JSON object"),
    ("{", "m: not valid JSON"),
    ('{"diks": []}', "m: unknown key 'diks' (did you mean 'disks'?)"),
    ('{"disks": [], "firmware": "efi"}', "m: firmware: must be uefi or bios; got 'efi'"),
    ('{"disks": [], "memory": "lots"}', "m: memory: 'lots' is not a size"),
    ('{"firmware": "uefi"}', "m: missing key 'disks'"),
    ('{"disks": [{"path": "/dev/vda"}]}', "m: disks: "),
    ('{"disks": [], "kernel": {"device-mapper": true}}', "m: kernel: unknown key 'device-mapper' (did you mean"),
])
def test_a_bad_machine_file_is_one_line(text: str, message: str) -> None:
    with pytest.raises(MachineError) as info:
        machine_from_json(text, "m")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_machine_by_path_and_a_missing_one(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"disks": [{"path": "/dev/sdz", "size": 8 * GiB}], "firmware": "bios"}))
    machine = load_machine(path)
    assert machine.name == "mine" and machine.inventory.disks[0].path == "/dev/sdz"
    with pytest.raises(MachineError, match="shipped machines: one-disk-uefi, small-disk-bios, three-disks"):
        load_machine(tmp_path / "nope.json")


def test_the_plan_is_the_recorded_machines(tmp_path: Path) -> None:
    small = DryRunAPI(load_machine("small-disk-bios"), tmp_path)
    btrfs = replace(PROFILE, storage=Storage(disks=(DiskMatch(path="/dev/vda"),),
                                             auto=AutoLayout(filesystem="btrfs", boot="bios")))
    with pytest.raises(ValueError, match="the layout needs"):
        small.plan(btrfs)  # 1 GiB does not fit
    big = replace(load_machine("small-disk-bios"), inventory=load_machine("three-disks").inventory)
    plan = DryRunAPI(big, tmp_path).plan(btrfs)
    assert [str(b) for b in plan.blockers] == [
        "this kernel cannot mount btrfs (needed by the layout); install from the ISO in a VM instead"]


def test_install_walks_the_plan_and_writes_only_its_log_under_root(tmp_path: Path) -> None:
    dry = DryRunAPI(replace(load_machine("three-disks"), step_seconds=0.0), tmp_path / "root", stamp="s")
    seen: list[Event] = []
    assert dry.install(PROFILE, seen.append) == 0
    plan = make_plan(PROFILE, dry.machine.inventory)
    started = [e.step for e in seen if e.kind == "step-started"]
    assert started == [s.id for s in plan.steps] == [e.step for e in seen if e.kind == "step-finished"]
    storage = next(s for s in plan.steps if s.id == "storage")
    assert [e.message for e in seen if e.kind == "step-progress" and e.step == "storage"] == list(storage.details)
    assert dry.latest_log() == Path("/var/log/azl-installer/install-s.log")
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["root/var/log/azl-installer/events-s.jsonl", "root/var/log/azl-installer/install-s.log"]
    assert "[storage] started: partitioning and formatting" in (tmp_path / files[1]).read_text()
    assert dry.runner.calls == [] and dry.installed == [PROFILE]


def test_a_failing_step_and_a_refused_plan(tmp_path: Path) -> None:
    failing = replace(load_machine("three-disks"), step_seconds=0.0, fail_step="payload", fail_message="no repo")
    seen: list[Event] = []
    assert DryRunAPI(failing, tmp_path).install(PROFILE, seen.append) == 1
    assert [(e.step, e.message) for e in seen if e.kind == "step-failed"] == [("payload", "no repo")]
    encrypted = replace(PROFILE, encryption=Encryption(enabled=True, passphrase="long enough"))
    with pytest.raises(Refused, match="no device-mapper"):  # the recorded kernel has none: as a real session
        DryRunAPI(failing, tmp_path).install(encrypted, seen.append)


def test_saves_go_under_root_with_the_machines_paths(tmp_path: Path) -> None:
    with DryRunAPI.temporary(load_machine("one-disk-uefi")) as dry:
        root = dry.root
        saved = dry.save_profile(PROFILE, tmp_path / "p.yaml")  # a directory this host has
        assert saved == tmp_path / "p.yaml" and not saved.exists()
        assert (root / str(tmp_path).lstrip("/") / "p.yaml").is_file()
        with pytest.raises(SaveError, match="the directory /nonexistent does not exist"):
            dry.save_profile(PROFILE, Path("/nonexistent/p.yaml"))
        dry.power("reboot")
        dry.power("exit")
        summary = "\n".join(dry.summary())
        assert f"now removed: {tmp_path}/p.yaml" in summary and "not run: systemctl reboot" in summary
    assert not root.exists()


def test_a_save_into_a_host_directory_this_user_cannot_read_still_goes_under_root(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dry-run as another user than root, where a real install left /var/log/azl-installer (mode 0700)."""
    closed = tmp_path / "closed"
    closed.mkdir()
    real_is_dir = Path.is_dir

    def is_dir(path: Path) -> bool:
        if path.is_relative_to(closed) and path != closed:
            raise PermissionError(13, "Permission denied", str(path))
        return real_is_dir(path)

    monkeypatch.setattr(Path, "is_dir", is_dir)
    with DryRunAPI.temporary(load_machine("one-disk-uefi")) as dry:
        saved = dry.save_profile(PROFILE, closed / "p.yaml")
        assert saved == closed / "p.yaml"
        assert real_is_dir(dry.root / str(closed).lstrip("/"))


def test_the_cli_refuses_options_that_do_not_go_together() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "installer", *args], capture_output=True, text=True,
                              cwd=ROOT, timeout=60, input="")

    assert "--machine names the recorded machine of --dry-run" in run("--machine", "three-disks").stderr
    done = run("--dry-run", "--target-image", "/tmp/x.img")
    assert done.returncode == 2 and "takes neither --target-image nor --log-dir" in done.stderr
    done = run("--dry-run", "--machine", "nope")
    assert done.returncode == 2 and "--machine: nope: cannot read the machine file" in done.stderr


def test_the_line_mode_installs_on_a_recorded_machine_and_leaves_nothing(tmp_path: Path) -> None:
    answers = ["", "", "", "1", "", "", "", "", "", "", "1", "", "", "web-01", "", "secret123", "secret123", "", "",
               "", "", "yes"]
    done = subprocess.run([sys.executable, "-m", "installer", "--dry-run", "--machine", "one-disk-uefi", "--text"],
                          input="\n".join(answers) + "\n", capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Dry run on a recorded machine: A UEFI VM with one blank 32 GiB disk" in done.stdout
    assert "This ERASES /dev/sda." in done.stdout and "Installed." in done.stdout
    assert "[storage]  " in done.stdout and "create /dev/sda1 512 MiB (/boot/efi), format vfat" in done.stdout
    assert "no disk was touched" in done.stderr and "/var/log/azl-installer/install-" in done.stderr
    assert list(tmp_path.iterdir()) == []  # its temporary directory is gone


def test_a_terminated_dry_run_still_removes_its_directory(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "installer", "--dry-run", "--text"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"})
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "Language:" in line:  # it waits at the first question now
                break
        else:
            raise AssertionError(f"the line mode never asked: {proc.communicate(timeout=30)}")
        assert len(list(tmp_path.iterdir())) == 1
        proc.terminate()
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert proc.returncode == 128 + 15 and list(tmp_path.iterdir()) == []
