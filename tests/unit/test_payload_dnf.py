"""The dnf half of the payload step with dnf 4, against recorded dnf output (no root, no real dnf).

A RecordingRunner answers `dnf5 --version` with nothing, so these runs take the dnf 4 dialect;
test_payload_dnf5.py has dnf5's, and both dialects' recorded failures side by side."""

from __future__ import annotations

from pathlib import Path

import pytest

from installer.core.events import Event, EventBus
from installer.core.runner import RecordingRunner, Reply
from installer.payload import PayloadError, describe_payload, install_payload
from installer.payload.dnf import (
    COMPS_REPO_ID,
    comps_path,
    package_name,
    prepare,
    repo_url,
    run_dnf,
)
from installer.payload.dnf4 import Dnf4
from profiles.model import Payload, Repository, RootImage

SAMPLE = Repository("sample", "file:///srv/sample", gpgcheck=False)
BASE = Repository("base", "https://example.invalid/azl/4.0/base/", gpgkey="https://example.invalid/key.asc")

# Recorded from dnf 4.14 installing group azure-agents from the sample repository (trailing
# blanks stripped); dnf prints transaction lines like this when its output is not a terminal.
GROUP_INSTALL_OUTPUT = """\
Added sample repo from file:///tmp/pl/repo2
Added azl-installer-comps repo from file:///tmp/pl/work4/comps-repo
sample                                          1.9 MB/s | 5.3 kB     00:00
azl-installer-comps                             565 kB/s | 1.1 kB     00:00
Dependencies resolved.
================================================================================
 Package                   Arch        Version                Repository   Size
================================================================================
Installing group/module packages:
 WALinuxAgent              noarch      2.12.0.2-1.azl4        sample      6.1 k
 azure-vm-utils            noarch      0.5.0-1.azl4           sample      6.1 k
 chrony                    noarch      4.6-1.azl4             sample      6.0 k
 cloud-init                noarch      24.4-1.azl4            sample      6.1 k
 cloud-utils-growpart      noarch      0.33-1.azl4            sample      6.1 k
 hyperv-daemons            noarch      6.12.0-1.azl4          sample      6.1 k
Installing dependencies:
 bash                      noarch      5.2.37-1.azl4          sample      1.0 M
 filesystem                noarch      3.18-1.azl4            sample      7.4 k
 setup                     noarch      2.14.5-1.azl4          sample      6.4 k
 systemd                   noarch      255-1.azl4             sample      6.3 k
Installing Groups:
 Azure agents

Transaction Summary
================================================================================
Install  10 Packages

Total size: 1.0 M
Installed size: 1.9 M
Downloading Packages:
Running transaction check
Transaction check succeeded.
Running transaction test
Transaction test succeeded.
Running transaction
  Preparing        :                                                        1/1
  Installing       : setup-2.14.5-1.azl4.noarch                            1/10
  Installing       : filesystem-3.18-1.azl4.noarch                         2/10
  Installing       : bash-5.2.37-1.azl4.noarch                             3/10
  Installing       : systemd-255-1.azl4.noarch                             4/10
  Running scriptlet: systemd-255-1.azl4.noarch                             4/10
  Installing       : WALinuxAgent-2.12.0.2-1.azl4.noarch                   5/10
  Installing       : chrony-4.6-1.azl4.noarch                              6/10
  Installing       : cloud-init-24.4-1.azl4.noarch                         7/10
  Installing       : hyperv-daemons-6.12.0-1.azl4.noarch                   8/10
  Installing       : cloud-utils-growpart-0.33-1.azl4.noarch               9/10
  Installing       : azure-vm-utils-0.5.0-1.azl4.noarch                   10/10
  Verifying        : WALinuxAgent-2.12.0.2-1.azl4.noarch                   1/10
  Verifying        : azure-vm-utils-0.5.0-1.azl4.noarch                    2/10
  Verifying        : bash-5.2.37-1.azl4.noarch                             3/10
  Verifying        : chrony-4.6-1.azl4.noarch                              4/10
  Verifying        : cloud-init-24.4-1.azl4.noarch                         5/10
  Verifying        : cloud-utils-growpart-0.33-1.azl4.noarch               6/10
  Verifying        : filesystem-3.18-1.azl4.noarch                         7/10
  Verifying        : hyperv-daemons-6.12.0-1.azl4.noarch                   8/10
  Verifying        : setup-2.14.5-1.azl4.noarch                            9/10
  Verifying        : systemd-255-1.azl4.noarch                            10/10

Installed:
  WALinuxAgent-2.12.0.2-1.azl4.noarch  azure-vm-utils-0.5.0-1.azl4.noarch
  bash-5.2.37-1.azl4.noarch            chrony-4.6-1.azl4.noarch
  cloud-init-24.4-1.azl4.noarch        cloud-utils-growpart-0.33-1.azl4.noarch
  filesystem-3.18-1.azl4.noarch        hyperv-daemons-6.12.0-1.azl4.noarch
  setup-2.14.5-1.azl4.noarch           systemd-255-1.azl4.noarch

Complete!
"""

# Recorded: a %post that prints "failing" and exits 3. dnf still exits 0.
FAILED_POST_OUTPUT = """\
Added sample repo from file:///tmp/pl/repo2
Dependencies resolved.
Running transaction
  Preparing        :                                                        1/1
  Installing       : setup-2.14.5-1.azl4.noarch                             1/4
  Installing       : filesystem-3.18-1.azl4.noarch                          2/4
  Installing       : bash-5.2.37-1.azl4.noarch                              3/4
  Installing       : badpost-1.0-1.azl4.noarch                              4/4
  Running scriptlet: badpost-1.0-1.azl4.noarch                              4/4
failing
warning: %post(badpost-1.0-1.azl4.noarch) scriptlet failed, exit status 3

Error in POSTIN scriptlet in rpm package badpost
  Verifying        : badpost-1.0-1.azl4.noarch                              1/4

Installed:
  badpost-1.0-1.azl4.noarch                bash-5.2.37-1.azl4.noarch

Complete!
"""


def bus_with_log() -> tuple[EventBus, list[Event]]:
    seen: list[Event] = []
    return EventBus(seen.append), seen


def dnf_call(runner: RecordingRunner) -> tuple[str, ...]:
    calls = [c for c in runner.calls if c[0] == "dnf"]
    assert len(calls) == 1, runner.commands()
    return calls[0]


def test_argv_is_one_transaction_with_per_repo_signature_checks(tmp_path: Path) -> None:
    payload = Payload(
        repositories=(SAMPLE, BASE),
        environment="azure-server",
        groups=("core",),
        packages=("vim-minimal", "tmux"),
        exclude=("nano",),
    )
    root, work = tmp_path / "root", tmp_path / "work"
    runner = RecordingRunner()
    run_dnf(payload, root, runner, EventBus(), work)

    assert runner.calls[0] == ("dnf5", "--version")  # empty answer: not dnf5, so dnf 4
    assert len(runner.calls) == 2  # which dnf, then the transaction: the comps repository is written, not made
    assert (work / "comps-repo/repodata/comps.xml").read_bytes() == comps_path().read_bytes()
    assert dnf_call(runner) == (
        "dnf",
        "-y",
        f"--config={work}/dnf.conf",
        f"--installroot={root}",
        "--releasever=4.0",
        "--setopt=reposdir=/nonexistent",
        f"--setopt=cachedir={work}/dnf-cache",
        "--setopt=install_weak_deps=False",
        "--setopt=timeout=30",
        "--disablerepo=*",
        "--repofrompath=sample,file:///srv/sample",
        "--enablerepo=sample",
        "--setopt=sample.gpgcheck=0",
        "--repofrompath=base,https://example.invalid/azl/4.0/base/",
        "--enablerepo=base",
        "--setopt=base.gpgcheck=1",
        "--setopt=base.gpgkey=https://example.invalid/key.asc",
        f"--repofrompath={COMPS_REPO_ID},file://{work}/comps-repo",
        f"--enablerepo={COMPS_REPO_ID}",
        f"--setopt={COMPS_REPO_ID}.gpgcheck=0",
        "--exclude=nano",
        "install",
        "@azure-server",
        "@core",
        "vim-minimal",
        "tmux",
    )
    assert "--nogpgcheck" not in dnf_call(runner)


def test_packages_only_need_no_comps_repository(tmp_path: Path) -> None:
    payload = Payload(repositories=(SAMPLE,), packages=("vim-minimal",), install_weak_deps=True, releasever="4.1")
    runner = RecordingRunner()
    run_dnf(payload, tmp_path / "root", runner, EventBus(), tmp_path / "work")
    argv = dnf_call(runner)
    assert [c[0] for c in runner.calls] == ["dnf5", "dnf"]  # which dnf, then dnf 4's one transaction
    assert not any(COMPS_REPO_ID in a for a in argv)
    assert "--setopt=install_weak_deps=True" in argv
    assert "--releasever=4.1" in argv
    assert argv[-2:] == ("install", "vim-minimal")


def test_workdir_pins_rpm_dbpath_and_config(tmp_path: Path) -> None:
    setup = prepare(Payload(groups=("core",)), tmp_path)
    assert (setup.home / ".rpmmacros").read_text() == "%_dbpath /usr/lib/sysimage/rpm\n"
    assert Dnf4("dnf").env(setup) == {"HOME": str(tmp_path / "home")}
    config = setup.config.read_text()
    for line in ("persistdir=/var/lib/dnf", "logdir=/var/log", "plugins=False", "reposdir=", "gpgcheck=True",
                 "best=False"):
        assert line in config.splitlines()
    assert setup.comps_repo == tmp_path / "comps-repo"


def test_shipped_comps_defines_the_azure_groups() -> None:
    text = comps_path().read_text()
    for ident in ("<id>core</id>", "<id>azure-agents</id>", "<id>azure-server</id>"):
        assert ident in text
    assert '<packagereq type="mandatory">WALinuxAgent</packagereq>' in text


def test_progress_is_reported_per_installed_package(tmp_path: Path) -> None:
    events, seen = bus_with_log()
    runner = RecordingRunner()
    runner.reply(["dnf"], Reply(0, GROUP_INSTALL_OUTPUT))
    run_dnf(Payload(repositories=(SAMPLE,), groups=("azure-agents",)), tmp_path / "r", runner, events, tmp_path / "w")

    progress = [(round(e.fraction or 0.0, 6), e.message) for e in seen if e.kind == "step-progress"]
    names = ["setup", "filesystem", "bash", "systemd", "WALinuxAgent", "chrony", "cloud-init",
             "hyperv-daemons", "cloud-utils-growpart", "azure-vm-utils"]  # fmt: skip
    assert progress == [(round(i / 10, 6), f"installing {n}") for i, n in enumerate(names, start=1)]
    assert any(e.message == "dnf installed 10 packages into " + str(tmp_path / "r") for e in seen)
    # Every dnf line lands in the log, for the install log file.
    assert sum(1 for e in seen if e.kind == "log" and e.level == "debug") == len(GROUP_INSTALL_OUTPUT.splitlines())


def test_failed_post_scriptlet_raises_although_dnf_exits_zero(tmp_path: Path) -> None:
    runner = RecordingRunner()
    runner.reply(["dnf"], Reply(0, FAILED_POST_OUTPUT))
    with pytest.raises(PayloadError) as caught:
        run_dnf(Payload(repositories=(SAMPLE,), packages=("badpost",)), tmp_path / "r", runner, EventBus(), tmp_path)
    assert str(caught.value) == "%post scriptlet of package badpost-1.0-1.azl4.noarch failed (exit status 3): failing"


def test_exit_127_names_the_missing_shell() -> None:
    out = Dnf4("dnf").output(lambda fraction, message: None)
    for line in [
        "  Running scriptlet: systemd-255-1.azl4.noarch                             4/10",
        "warning: %post(systemd-255-1.azl4.noarch) scriptlet failed, exit status 127",
        "Error in POSTIN scriptlet in rpm package systemd",
        "error: %prein(sudo-1.9.16-1.azl4.noarch) scriptlet failed, signal 9",
        "Error in PREIN scriptlet in rpm package sudo",
        "Non-fatal POSTUN scriptlet failure in rpm package chrony",
    ]:
        out.feed(line)
    described = [f.describe() for f in out.scriptlet_failures]
    assert described == [
        "%post scriptlet of package systemd-255-1.azl4.noarch failed (exit status 127): "
        "a command, or the target's /bin/sh, could not be run",
        "%prein scriptlet of package sudo-1.9.16-1.azl4.noarch failed (signal 9)",
        "%postun scriptlet of package chrony failed (failed)",
    ]


@pytest.mark.parametrize(
    ("payload", "output", "message"),
    [
        (
            Payload(repositories=(SAMPLE,), groups=("nogroup",), packages=("nopkg",)),
            "Module or Group 'nogroup' is not available.\nError: Nothing to do.\n",
            "not found in the repositories: group 'nogroup'",
        ),
        (
            Payload(repositories=(SAMPLE,), environment="azure-desktop"),
            "Module or Group 'azure-desktop' is not available.\nError: Nothing to do.\n",
            "not found in the repositories: environment 'azure-desktop'",
        ),
        (
            Payload(repositories=(SAMPLE,), packages=("nopkg", "vim-minimal", "nopkg2")),
            "No match for argument: nopkg\nNo match for argument: nopkg2\n"
            "Error: Unable to find a match: nopkg nopkg2\n",
            "not found in the repositories: package 'nopkg', package 'nopkg2'",
        ),
        (
            Payload(repositories=(SAMPLE,), packages=("vim-minimal",), exclude=("vim-minimal",)),
            "All matches were filtered out by exclude filtering for argument: vim-minimal\n"
            "Error: Unable to find a match: vim-minimal\n",
            "excluded by payload.exclude: 'vim-minimal'",
        ),
        (
            Payload(repositories=(BASE,), packages=("vim-minimal",)),
            "You have enabled checking of packages via GPG keys. This is a good thing.\n"
            "Problem repository: [base]\nbandwidth: 0\nbaseurl: https://example.invalid/\n",
            "repository 'base' has gpgcheck on but no signing key: set its gpgkey, "
            "or gpgcheck: false for a trusted local repository",
        ),
        (
            Payload(repositories=(BASE,), packages=("vim-minimal",)),
            "Package vim-minimal-9.1.0-1.azl4.noarch.rpm is not signed\nError: GPG check FAILED\n",
            "package vim-minimal-9.1.0-1.azl4.noarch is not signed but its repository has gpgcheck on",
        ),
    ],
)
def test_clear_one_line_errors(tmp_path: Path, payload: Payload, output: str, message: str) -> None:
    runner = RecordingRunner()
    runner.reply(["dnf"], Reply(1, "Added sample repo from file:///srv/sample\n" + output))
    with pytest.raises(PayloadError) as caught:
        run_dnf(payload, tmp_path / "r", runner, EventBus(), tmp_path / "w")
    assert str(caught.value) == message


def test_other_failures_quote_dnfs_error(tmp_path: Path) -> None:
    output = (
        "Added sample repo from file:///srv/sample\n"
        "Error: \n"
        " Problem: package badpost-1.0-1.azl4.noarch requires bash, but none of the providers can be installed\n"
        "  - package bash-5.2.37-1.azl4.noarch is filtered out by exclude filtering\n"
    )
    runner = RecordingRunner()
    runner.reply(["dnf"], Reply(1, output))
    with pytest.raises(PayloadError, match=r"(?s)exit code 1:\nError:.*filtered out by exclude") as caught:
        run_dnf(Payload(repositories=(SAMPLE,), packages=("badpost",)), tmp_path / "r", runner, EventBus(), tmp_path)
    assert "Added sample repo" not in str(caught.value)


def test_missing_group_packages_are_warnings(tmp_path: Path) -> None:
    events, seen = bus_with_log()
    runner = RecordingRunner()
    runner.reply(["dnf"], Reply(0, 'No match for group package "sudo"\nDependencies resolved.\nComplete!\n'))
    run_dnf(Payload(repositories=(SAMPLE,), groups=("core",)), tmp_path / "r", runner, events, tmp_path / "w")
    warnings = [e.message for e in seen if e.level == "warning"]
    assert warnings == ["group package not in the repositories, skipped: sudo"]


def test_cache_leak_in_target_is_removed_but_package_dirs_stay(tmp_path: Path) -> None:
    # dnf writes expired_repos.json under <root>/<cachedir>; /tmp there belongs to "filesystem".
    root, work = tmp_path / "root", tmp_path / "work"
    root.mkdir()
    leak = root / (work / "dnf-cache").relative_to("/")
    inside_tmp = "/" + str(leak.relative_to(root).parts[0])

    def dnf_effect(argv: tuple[str, ...]) -> None:
        leak.mkdir(parents=True)
        (leak / "expired_repos.json").write_text("[]")

    made = [d for d in [leak, *leak.parents] if d.is_relative_to(root) and d != root]
    unowned = ["/" + str(d.relative_to(root)) for d in made if d != root / inside_tmp.lstrip("/")]
    runner = RecordingRunner()
    runner.reply(["dnf"], Reply(0, "", effect=dnf_effect))
    runner.reply(["rpm"], Reply(len(unowned), "".join(f"file {p} is not owned by any package\n" for p in unowned)))
    run_dnf(Payload(repositories=(SAMPLE,), packages=("vim-minimal",)), root, runner, EventBus(), work)

    assert (root / inside_tmp.lstrip("/")).is_dir()
    assert list((root / inside_tmp.lstrip("/")).iterdir()) == []
    assert runner.calls[-1][:5] == ("rpm", "--root", str(root), "--dbpath", "/usr/lib/sysimage/rpm")


@pytest.mark.parametrize(
    ("nevra", "name"),
    [
        ("bash-5.2.37-1.azl4.noarch", "bash"),
        ("cloud-utils-growpart-0.33-1.azl4.noarch", "cloud-utils-growpart"),
        ("kernel-1:6.12.0-1.azl4.x86_64", "kernel"),
        ("oddname", "oddname"),
    ],
)
def test_package_name(nevra: str, name: str) -> None:
    assert package_name(nevra) == name


def test_repo_url_turns_directories_into_file_urls(tmp_path: Path) -> None:
    assert repo_url(str(tmp_path)) == f"file://{tmp_path}"
    assert repo_url("https://example.invalid/x/") == "https://example.invalid/x/"


def test_install_payload_unpacks_the_image_before_dnf(tmp_path: Path) -> None:
    image = tmp_path / "rootfs.tar.zst"
    image.write_bytes(b"")
    root = tmp_path / "root"
    root.mkdir()
    events, seen = bus_with_log()
    runner = RecordingRunner()
    runner.reply(["dnf"], Reply(0, GROUP_INSTALL_OUTPUT))
    payload = Payload(repositories=(SAMPLE,), groups=("azure-agents",), image=RootImage(str(image)))
    install_payload(payload, root, runner, events, tmp_path / "work")

    assert [c[0] for c in runner.calls] == ["tar", "dnf5", "dnf"]
    fractions = [e.fraction or 0.0 for e in seen if e.kind == "step-progress"]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0
    assert fractions[-1] == pytest.approx(1.0)


def test_install_payload_needs_an_existing_root(tmp_path: Path) -> None:
    with pytest.raises(PayloadError, match="not a directory"):
        install_payload(Payload(packages=("bash",)), tmp_path / "missing", RecordingRunner(), EventBus(), tmp_path)


def test_describe_payload() -> None:
    payload = Payload(
        repositories=(SAMPLE, BASE),
        environment="azure-server",
        groups=("core",),
        packages=("vim",),
        exclude=("nano",),
        image=RootImage("/x.tar.zst"),
    )
    assert describe_payload(payload) == [
        "unpack root image /x.tar.zst (tar)",
        "dnf: environment azure-server, groups core, packages vim; from repositories "
        "sample (file:///srv/sample, signatures not checked), base (https://example.invalid/azl/4.0/base/); "
        "excluding nano",
    ]
    assert describe_payload(Payload()) == ["nothing to install: the payload is empty"]
    assert describe_payload(Payload(image=RootImage("/img", format="squashfs"))) == [
        "unpack root image /img (squashfs)"
    ]
    # The plan names the installing machine's dnf when it knows it (installer.session asks host_dnf()).
    assert describe_payload(Payload(repositories=(SAMPLE,), packages=("vim",)), "dnf5") == [
        "dnf: packages vim; from repositories sample (file:///srv/sample, signatures not checked); using dnf5"
    ]
