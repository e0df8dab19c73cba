"""A whole unattended install into a disk image, checked from outside like a user would."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml

from iso.serve import serving
from tests.support.faulty_repo import FaultyRepo
from tests.support.loop import ROOT_ONLY, mount_ro, sh
from tests.support.sample_profile import sample_profile

HASH = "$6$demosalt$pep2rFsAdnlyXj4mGOrrHEf7MdBKXMRAgvW.g3Skgxqkr1JllvY8JE7HzasHlLRWwL9avcCI43qk/JcTuErnA/"
GROUP_PACKAGES = {"filesystem", "setup", "bash", "WALinuxAgent", "cloud-init", "chrony", "vim-minimal"}


def _install(*args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "installer", "install", *(os.fspath(a) for a in args)],
                          capture_output=True, text=True, timeout=600)


@ROOT_ONLY
def test_sample_install_into_image(tmp_path: Path, sample_repo: Path, cleanup: ExitStack) -> None:
    image, logs, events = tmp_path / "disk.img", tmp_path / "logs", tmp_path / "events.jsonl"
    # Secrets that must not reach any log, event or saved profile: a passphrase (the section is not applied)
    # and a password in cloud-init user-data, which only the NoCloud seed may hold (mode 0600).
    secret: dict[str, object] = {"encryption": {"enabled": False, "passphrase": "pa55-SECRET-word"},
                                 "cloud_init": {"user_data": "#cloud-config\npassword: ud-SECRET-pw\n"}}
    (tmp_path / "www").mkdir()
    with serving(tmp_path / "www") as server:  # the result report goes here (report_url)
        secret["report_url"] = f"{server.url}results/"
        done = _install("--profile", sample_profile(tmp_path, sample_repo, secret), "--target-image", image,
                        "--image-size", "3GiB", "--yes", "--log-dir", logs, "--events", events)
    assert done.returncode == 0, done.stderr[-3000:]
    reports = list((tmp_path / "www/results").glob("*.json"))
    assert len(reports) == 1 and f"result sent to {server.url}results/{reports[0].name}" in done.stderr
    report = json.loads(reports[0].read_text())
    assert (report["result"], report["exit_code"], report["step"], report["hostname"]) == ("installed", 0, None,
                                                                                            "demo-vm")
    with tarfile.open(reports[0].with_name(reports[0].name.replace(".json", ".tar.gz"))) as bundle:
        members = {m.name.rpartition("/")[2]: bundle.extractfile(m).read() for m in bundle.getmembers()}  # type: ignore[union-attr]
    assert {"install.log", "events.jsonl", "plan.txt", "profile.yaml"} <= members.keys()
    assert b"step-finished" in members["events.jsonl"]
    assert not [n for n, data in members.items() if b"pa55-SECRET-word" in data or b"ud-SECRET-pw" in data]
    assert str(image) not in sh("losetup", "--list", "--noheadings", "--output", "BACK-FILE")

    table = json.loads(sh("sfdisk", "--json", image))["partitiontable"]
    assert table["label"] == "gpt"
    assert [p["type"] for p in table["partitions"]] == [
        "21686148-6449-6E6F-744E-656564454649", "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
        "0FC63DAF-8483-4772-8E79-3D69D8477DE4"]

    device = sh("losetup", "--find", "--show", "--read-only", image).strip()
    cleanup.callback(sh, "losetup", "--detach", device, check=False)
    sh("partx", "--add", device)
    cleanup.callback(sh, "partx", "--delete", device, check=False)
    uuids = {n: sh("blkid", "-p", "-s", "UUID", "-o", "value", f"{device}p{n}").strip() for n in (2, 3)}
    assert sh("blkid", "-p", "-s", "TYPE", "-o", "value", f"{device}p3").strip() == "ext4"
    root = mount_ro(cleanup, f"{device}p3", tmp_path / "root")

    fstab = [line.split() for line in (root / "etc/fstab").read_text().splitlines() if not line.startswith("#")]
    assert [(f[0], f[1]) for f in fstab] == [(f"UUID={uuids[3]}", "/"), (f"UUID={uuids[2]}", "/boot")]

    installed = set(sh("rpm", "--root", root, "--dbpath", "/usr/lib/sysimage/rpm", "-qa", "--qf", "%{NAME}\n")
                    .split())
    assert installed >= GROUP_PACKAGES, GROUP_PACKAGES - installed

    assert "azureuser:x:1000:1000::/home/azureuser:/bin/bash" in (root / "etc/passwd").read_text()
    shadow = dict(line.split(":")[:2] for line in (root / "etc/shadow").read_text().splitlines())
    assert shadow["azureuser"] == HASH and shadow["root"].startswith("!")
    assert (root / "etc/hostname").read_text() == "demo-vm\n"
    assert os.readlink(root / "etc/localtime") == "../usr/share/zoneinfo/Europe/Berlin"
    assert (root / "etc/motd").read_text() == "Installed by azl-installer\n"  # post script ran chrooted
    keys = root / "home/azureuser/.ssh/authorized_keys"
    assert keys.stat().st_uid == 1000 and oct(keys.stat().st_mode & 0o777) == "0o600"

    saved = root / "var/log/azl-installer"
    assert {"profile.yaml", "plan.txt"} <= {p.name for p in saved.iterdir()}
    assert any(p.name.startswith("install-") for p in saved.iterdir())
    written = [p for p in [*saved.iterdir(), *logs.iterdir(), events] if p.is_file()]
    assert len(written) >= 6
    assert not [p for p in written if "pa55-SECRET-word" in p.read_text()]
    assert "pa55-SECRET-word" not in done.stderr + done.stdout
    # Every file the install wrote, host and target: only the seed holds the user-data password.
    seed = root / "var/lib/cloud/seed/nocloud/user-data"
    holders = [p for p in [*root.rglob("*"), *written] if p.is_file() and not p.is_symlink()
               and b"ud-SECRET-pw" in p.read_bytes()]
    assert holders == [seed] and seed.stat().st_mode & 0o777 == 0o600
    assert not [p for p in [*root.rglob("*"), *written] if p.is_file() and not p.is_symlink()
                and b"pa55-SECRET-word" in p.read_bytes()]
    assert "ud-SECRET-pw" not in done.stderr + done.stdout
    assert {oct(p.stat().st_mode & 0o777) for p in [*logs.iterdir(), *saved.iterdir()] if p.is_file()} == {"0o600"}
    kinds = [json.loads(line)["kind"] for line in events.read_text().splitlines()]
    assert kinds.count("step-failed") == 0 and kinds.count("step-finished") == kinds.count("step-started")
    assert any(json.loads(line).get("message", "").startswith("installing ")
               for line in events.read_text().splitlines())


@ROOT_ONLY
def test_left_alone_disk_is_byte_identical(tmp_path: Path, sample_repo: Path,
                                           loop_disk: Callable[[str, int], str], cleanup: ExitStack) -> None:
    target, keep = loop_disk("target", 3 * 1024**3), loop_disk("keep", 64 * 1024**2)
    subprocess.run(["sfdisk", "--quiet", keep], input="label: gpt\n,32M\n,\n", text=True, check=True)
    with open(keep, "r+b") as handle:
        handle.seek(8 * 1024**2)
        handle.write(os.urandom(1024**2))

    def digest() -> str:
        with open(keep, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()

    before = digest()
    storage = {
        "disks": [{"path": target}],
        "leave_alone": [{"path": keep}],
        "partitions": [
            {"size": "1MiB", "filesystem": "biosboot"},
            {"size": "512MiB", "filesystem": "ext4", "mount": "/boot"},
            {"size": "1GiB", "grow": True, "filesystem": "xfs", "mount": "/", "label": "root"},
        ],
    }
    done = _install("--profile", sample_profile(tmp_path, sample_repo, {"storage": storage}), "--yes",
                    "--log-dir", tmp_path / "logs")
    assert done.returncode == 0, done.stderr[-3000:]
    assert digest() == before
    assert sh("blkid", "-p", "-s", "TYPE", "-o", "value", f"{target}p3").strip() == "xfs"
    root = mount_ro(cleanup, f"{target}p3", tmp_path / "root")
    assert "bash" in sh("rpm", "--root", root, "--dbpath", "/usr/lib/sysimage/rpm", "-qa", "--qf", "%{NAME}\n")


@ROOT_ONLY
@pytest.mark.parametrize("fault", ["missing package", "damaged package"])
def test_failed_install_names_step_and_cleans_up(tmp_path: Path, sample_repo: Path, fault: str) -> None:
    image = tmp_path / "disk.img"
    profile = sample_profile(tmp_path, sample_repo)
    data = yaml.safe_load(profile.read_text())
    with ExitStack() as stack:
        if fault == "missing package":
            data["payload"]["packages"] = ["no-such-package"]
            expected = "not found in the repositories: package 'no-such-package'"
        else:  # a mirror that serves every package with bytes flipped
            data["payload"]["repositories"][0]["baseurl"] = stack.enter_context(FaultyRepo(sample_repo, "corrupt")).url
            expected = "is damaged: it was downloaded, but its checksum does not match the repository's metadata"
        (tmp_path / "www").mkdir()
        server = stack.enter_context(serving(tmp_path / "www"))
        data["report_url"] = f"{server.url}results"  # without the final slash: the installer adds it
        profile.write_text(yaml.safe_dump(data))
        mounts_before = Path("/proc/mounts").read_text()
        done = _install("--profile", profile, "--target-image", image, "--image-size", "3GiB", "--yes",
                        "--log-dir", tmp_path / "logs")
    assert done.returncode == 1
    reports = [json.loads(p.read_text()) for p in (tmp_path / "www/results").glob("*.json")]
    assert [(r["result"], r["exit_code"], r["step"]) for r in reports] == [("failed", 1, "payload")]
    assert expected in reports[0]["message"]
    assert "install failed in step 'payload'" in done.stderr and "full log:" in done.stderr
    assert expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert str(image) not in sh("losetup", "--list", "--noheadings", "--output", "BACK-FILE")
    # Nothing of this install stays mounted (its target root, as its log names it). Other tests may
    # mount and unmount their own targets meanwhile: /proc/mounts as a whole is not this test's.
    logged = "".join(f.read_text(errors="replace") for f in (tmp_path / "logs").rglob("*") if f.is_file())
    target = re.search(r"target root: (\S+)", logged)
    assert target is not None, logged[-2000:]
    left = [line for line in Path("/proc/mounts").read_text().splitlines()
            if target.group(1) in line and line not in mounts_before]
    assert left == []
