"""The payload's dnf5 dialect, and both dialects against the same recorded cases (no root, no real dnf).

tests/unit/data/dnf4 and data/dnf5 hold what dnf 4.14 (Debian 12) and dnf5 5.4.6 (Debian sid, in
the root of tests/support/dnf5_root.py) printed, stdout and stderr as the runner hands them over,
when the payload code installed the same payloads from the same repositories (the sample repository
with extra packages: a failing %post, %pre, a %post killed by a signal, an unmet dependency; a copy
without sudo; a copy signed with a test key). Only the temporary paths were replaced and trailing
blanks stripped. The same case must give the same one-line message with either dnf.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from installer.core.events import Event, EventBus
from installer.core.runner import RecordingRunner, Reply
from installer.payload import PayloadError
from installer.payload.dnf import COMPS_REPO_ID, detect_dialect, host_dnf, prepare, run_dnf
from installer.payload.dnf4 import Dnf4
from installer.payload.dnf5 import Dnf5, Dnf5Output
from profiles.model import Payload, Repository

DATA = Path(__file__).parent / "data"
SAMPLE = Repository("sample", "file:///srv/sample", gpgcheck=False)
SIGNED = Repository("sample", "file:///srv/signed")  # gpgcheck on, no key
BASE = Repository("base", "https://example.invalid/azl/4.0/base/", gpgkey="https://example.invalid/key.asc")
WITH_KEY = Repository("sample", "file:///srv/signed", gpgkey="file:///srv/key.asc")
NO_KEY = ("repository 'sample' has gpgcheck on but no signing key: set its gpgkey, or gpgcheck: false for a "
          "trusted local repository")


def recorded(dialect: str, case: str) -> str:
    return (DATA / dialect / f"{case}.txt").read_text()


def runner_for(dialect: str, case: str, returncode: int) -> RecordingRunner:
    """A runner that answers the version probe and the transaction as that dnf did."""
    runner = RecordingRunner()
    if dialect == "dnf5":
        runner.reply(["dnf5", "--version"], Reply(0, recorded("dnf5", "version")))
        runner.reply(["dnf5", "-y"], Reply(returncode, recorded("dnf5", case)))
    else:
        runner.reply(["dnf5", "--version"], Reply(127, "dnf5: command not found"))
        runner.reply(["dnf", "-y"], Reply(returncode, recorded("dnf4", case)))
    return runner


@pytest.mark.parametrize(
    ("case", "payload", "rc4", "rc5", "message"),
    [
        ("missing-package", Payload(repositories=(SAMPLE,), packages=("vim-minimal", "no-such-package")), 1, 1,
         "not found in the repositories: package 'no-such-package'"),
        ("missing-group", Payload(repositories=(SAMPLE,), groups=("no-such-group",)), 1, 1,
         "not found in the repositories: group 'no-such-group'"),
        ("excluded", Payload(repositories=(SAMPLE,), packages=("vim-minimal",), exclude=("vim-minimal",)), 1, 1,
         "excluded by payload.exclude: 'vim-minimal'"),
        # dnf 4 exits 0 after a failed %post, dnf5 1: the same message either way.
        ("failed-post", Payload(repositories=(SAMPLE,), packages=("badpost",)), 0, 1,
         "%post scriptlet of package badpost-1.0-1.azl4.noarch failed (exit status 3): badpost ran"),
        ("failed-pre", Payload(repositories=(SAMPLE,), packages=("badpre",)), 1, 1,
         "%prein scriptlet of package badpre-1.0-1.azl4.noarch failed (exit status 2): badpre says no"),
        ("killed-post", Payload(repositories=(SAMPLE,), packages=("sigpost",)), 0, 1,
         "%post scriptlet of package sigpost-1.0-1.azl4.noarch failed (signal 9)"),
        ("unsigned-no-key", Payload(repositories=(SIGNED,), packages=("vim-minimal",)), 1, 1, NO_KEY),
        ("signed-no-key", Payload(repositories=(SIGNED,), packages=("vim-minimal",)), 1, 1, NO_KEY),
        ("unsigned-with-key", Payload(repositories=(WITH_KEY,), packages=("vim-minimal",)), 1, 1,
         "package vim-minimal-9.1.0-1.azl4.noarch is not signed but its repository has gpgcheck on"),
        ("signed-wrong-key", Payload(repositories=(WITH_KEY,), packages=("vim-minimal",)), 1, 1,
         "package vim-minimal-9.1.0-1.azl4.noarch is signed by a key that is not trusted: check the "
         "repository's gpgkey"),
    ],
)
@pytest.mark.parametrize("dialect", ["dnf4", "dnf5"])
def test_both_dialects_give_the_same_one_line_message(
    tmp_path: Path, dialect: str, case: str, payload: Payload, rc4: int, rc5: int, message: str
) -> None:
    runner = runner_for(dialect, case, rc4 if dialect == "dnf4" else rc5)
    with pytest.raises(PayloadError) as caught:
        run_dnf(payload, tmp_path / "root", runner, EventBus(), tmp_path / "work")
    assert str(caught.value) == message


def test_missing_group_and_package_dnf5_names_both(tmp_path: Path) -> None:
    # dnf 4 gives up at the group; dnf5 names both, and either way the groups come first.
    payload = Payload(repositories=(SAMPLE,), groups=("no-such-group",), packages=("no-such-package",))
    messages = []
    for dialect in ("dnf4", "dnf5"):
        with pytest.raises(PayloadError) as caught:
            run_dnf(payload, tmp_path / "root", runner_for(dialect, "missing-group-and-package", 1), EventBus(),
                    tmp_path / dialect)
        messages.append(str(caught.value))
    assert messages == [
        "not found in the repositories: group 'no-such-group'",
        "not found in the repositories: group 'no-such-group', package 'no-such-package'",
    ]


def test_other_failures_quote_dnf5_without_its_command_line_hints(tmp_path: Path) -> None:
    runner = runner_for("dnf5", "broken-dependency", 1)
    with pytest.raises(PayloadError) as caught:
        run_dnf(Payload(repositories=(SAMPLE,), packages=("needy",)), tmp_path / "root", runner, EventBus(), tmp_path)
    assert str(caught.value) == (
        "dnf failed with exit code 1:\nFailed to resolve the transaction:\nProblem: conflicting requests\n"
        "  - nothing provides libnothere needed by needy-1.0-1.azl4.noarch from sample"
    )


@pytest.mark.parametrize("dialect", ["dnf4", "dnf5"])
def test_missing_group_package_is_a_warning(tmp_path: Path, dialect: str) -> None:
    seen: list[Event] = []
    runner = runner_for(dialect, "missing-group-package", 0)
    run_dnf(Payload(repositories=(SAMPLE,), groups=("core",)), tmp_path / "r", runner, EventBus(seen.append), tmp_path)
    assert [e.message for e in seen if e.level == "warning"] == ["group package not in the repositories, skipped: sudo"]
    assert f"dnf installed 15 packages into {tmp_path / 'r'}" in [e.message for e in seen]


GROUP_AZURE_AGENTS = ["setup", "filesystem", "bash", "systemd", "WALinuxAgent", "cloud-init", "hyperv-daemons",
                      "chrony", "cloud-utils-growpart", "azure-vm-utils"]  # fmt: skip


def test_dnf5_progress_per_installed_package(tmp_path: Path) -> None:
    seen: list[Event] = []
    runner = runner_for("dnf5", "group-install", 0)
    run_dnf(Payload(repositories=(SAMPLE,), groups=("azure-agents",)), tmp_path / "r", runner, EventBus(seen.append),
            tmp_path / "w")
    progress = [(round(e.fraction or 0.0, 6), e.message) for e in seen if e.kind == "step-progress"]
    # dnf5 counts two steps before the packages: "[1/12] Verify package files", "[2/12] Prepare transaction".
    assert progress == [(round(i / 12, 6), f"installing {n}") for i, n in enumerate(GROUP_AZURE_AGENTS, start=3)]
    messages = [e.message for e in seen]
    assert f"dnf installed 10 packages into {tmp_path / 'r'}" in messages
    assert "installing with dnf5 5.4.6.0 (dnf5)" in messages


def test_dnf5_argv_config_and_environment(tmp_path: Path) -> None:
    payload = Payload(repositories=(SAMPLE, BASE), environment="azure-server", groups=("core",),
                      packages=("vim-minimal",), exclude=("nano",), install_weak_deps=True)
    root, work = tmp_path / "root", tmp_path / "work"
    dialect = Dnf5("dnf5", "5.2.18.0")
    setup = prepare(payload, work, dialect)
    assert dialect.argv(payload, root, setup) == [
        "dnf5", "-y", f"--config={work}/dnf.conf", f"--installroot={root}", "--releasever=4.0",
        "--setopt=reposdir=/nonexistent", f"--setopt=cachedir={work}/dnf-cache", "--setopt=install_weak_deps=True",
            "--setopt=timeout=30",
        "--repofrompath=sample,file:///srv/sample", "--repo=sample", "--setopt=sample.pkg_gpgcheck=0",
        "--repofrompath=base,https://example.invalid/azl/4.0/base/", "--repo=base", "--setopt=base.pkg_gpgcheck=1",
        "--setopt=base.gpgkey=https://example.invalid/key.asc",
        f"--repofrompath={COMPS_REPO_ID},file://{work}/comps-repo", f"--repo={COMPS_REPO_ID}",
        f"--setopt={COMPS_REPO_ID}.pkg_gpgcheck=0",
        "--exclude=nano", "install", "@azure-server", "@core", "vim-minimal",
    ]  # fmt: skip
    assert dialect.env(setup) == {"HOME": str(work / "home"), "DNF5_FORCE_COLUMNS": "200"}
    config = setup.config.read_text().splitlines()
    # Set here because the target's drop-ins are read first; the append lists emptied of theirs.
    for line in ("pkg_gpgcheck=True", "best=False", "plugins=False", "reposdir=", "excludepkgs=", "includepkgs="):
        assert line in config
    assert (setup.home / ".rpmmacros").read_text() == "%_dbpath /usr/lib/sysimage/rpm\n"


def test_narrow_progress_lines_still_name_the_package() -> None:
    # Recorded without DNF5_FORCE_COLUMNS: on a pipe dnf5 cuts descriptions to fit 80 columns.
    lines = [
        "[ 3/24] Installing setup-0:2.14.5-1.azl 100% | 683.6 KiB/s | 700.0   B |  00m00s",
        "[ 7/24] Installing WALinuxAgent-0:2.12. 100% | 293.0 KiB/s | 300.0   B |  00m00s",
        "[23/24] Installing cloud-utils-growpart 100% |   0.0   B/s | 316.0   B |  00m00s",
        "[ 1/22] WALinuxAgent-0:2.12.0.2-1.azl4. 100% |   0.0   B/s |   6.1 KiB |  00m00s",  # a download
    ]
    seen: list[tuple[float, str]] = []
    out = Dnf5Output(lambda fraction, message: seen.append((fraction, message)))
    for line in lines:
        out.feed(line)
    assert [m for _, m in seen] == ["installing setup", "installing WALinuxAgent", "installing cloud-utils-growpart"]
    assert out.installed == 3


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({("dnf5", "--version"): Reply(0, "dnf5 version 5.2.18.0\ndnf5 plugin API version 2.0\n")},
         Dnf5("dnf5", "5.2.18.0")),
        # No dnf5 program: dnf 4, not asked (`dnf --version` would cost dnf 4's whole start); with no dnf at
        # all either, its run then fails saying so.
        ({("dnf5", "--version"): Reply(127, "dnf5: command not found")}, Dnf4("dnf")),
        # A dnf5 that does not answer as dnf5: not taken for one.
        ({("dnf5", "--version"): Reply(1, "error while loading shared libraries\n")}, Dnf4("dnf")),
    ],
)
def test_detect_dialect(answers: dict[tuple[str, ...], Reply], expected: object) -> None:
    runner = RecordingRunner()
    for prefix, reply in answers.items():
        runner.reply(prefix, reply)
    assert detect_dialect(runner) == expected
    assert runner.calls == [("dnf5", "--version")]


def test_dnf5_lock_files_do_not_stay_in_the_target(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "var/lib").mkdir(parents=True)  # as an image would have it; /run not yet

    def dnf5_effect(argv: tuple[str, ...]) -> None:
        (root / "run/dnf").mkdir(parents=True)
        (root / "var/lib/dnf").mkdir()
        (root / "var/lib/dnf/system-repo.lock").write_text("")
        (root / "usr/lib/sysimage/libdnf5").mkdir(parents=True)  # dnf5's state: the target's own

    runner = RecordingRunner()
    runner.reply(["dnf5", "--version"], Reply(0, recorded("dnf5", "version")))
    runner.reply(["dnf5", "-y"], Reply(0, "Complete!\n", effect=dnf5_effect))
    # /run belongs to the filesystem package; /run/dnf and /var/lib/dnf to none.
    runner.reply(["rpm"], Reply(1, "file /var/lib/dnf is not owned by any package\n"
                                   "file /run/dnf is not owned by any package\n"
                                   "filesystem-3.18-1.azl4.noarch\n"))
    run_dnf(Payload(repositories=(SAMPLE,), packages=("vim-minimal",)), root, runner, EventBus(), tmp_path / "w")

    assert runner.calls[-1] == ("rpm", "--root", str(root), "--dbpath", "/usr/lib/sysimage/rpm", "-qf",
                                "/var/lib/dnf", "/run/dnf", "/run")
    assert not (root / "run/dnf").exists() and (root / "run").is_dir()
    assert not (root / "var/lib/dnf").exists() and (root / "var/lib").is_dir()
    assert (root / "usr/lib/sysimage/libdnf5").is_dir()


def test_host_dnf_from_path_alone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    assert host_dnf() is None
    (bin_dir / "dnf-3").write_text("#!/bin/sh\n")
    (bin_dir / "dnf-3").chmod(0o755)
    (bin_dir / "dnf").symlink_to("dnf-3")
    assert host_dnf() == "dnf 4"  # Debian's dnf 4
    (bin_dir / "dnf").unlink()
    (bin_dir / "dnf5").write_text("#!/bin/sh\n")
    (bin_dir / "dnf5").chmod(0o755)
    (bin_dir / "dnf").symlink_to("dnf5")
    assert host_dnf() == "dnf5"  # Fedora's, Azure Linux's
    (bin_dir / "dnf5").rename(bin_dir / "dnf5-bin")
    (bin_dir / "dnf").unlink()
    (bin_dir / "dnf").symlink_to("dnf5-bin")
    assert host_dnf() == "dnf5"  # only a dnf that is dnf5
